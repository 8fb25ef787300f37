package node

import (
	"net"
	"sync"
)

// limitListener caps the connections open at once, in all and per client
// address: a connection beyond either cap is closed as soon as it is
// accepted, so that slow or idle clients cannot take every file
// descriptor of the process and starve real requests.
func limitListener(ln net.Listener, total, perIP int) net.Listener {
	if total <= 0 && perIP <= 0 {
		return ln
	}
	return &limitedListener{Listener: ln, total: total, perIP: perIP, byIP: map[string]int{}}
}

type limitedListener struct {
	net.Listener
	total, perIP int
	mu           sync.Mutex
	open         int
	byIP         map[string]int
}

func (l *limitedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c)
		l.mu.Lock()
		over := l.total > 0 && l.open >= l.total || l.perIP > 0 && l.byIP[ip] >= l.perIP
		if !over {
			l.open++
			l.byIP[ip]++
		}
		l.mu.Unlock()
		if over {
			c.Close()
			continue
		}
		return &limitedConn{Conn: c, l: l, ip: ip}, nil
	}
}

func (l *limitedListener) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.byIP[ip]--; l.byIP[ip] <= 0 {
		delete(l.byIP, ip)
	}
}

// Open counts the connections open now, for tests and metrics.
func (l *limitedListener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

func remoteIP(c net.Conn) string {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}

type limitedConn struct {
	net.Conn
	l    *limitedListener
	ip   string
	once sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.ip) })
	return err
}
