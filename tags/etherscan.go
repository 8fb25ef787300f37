package tags

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/tracehound/tracehound/chain"
)

// EtherscanConfidence is the level given to Etherscan's labels: data the
// explorer publishes about services, like GraphSense's service_data.
const EtherscanConfidence = "service_data"

// exchanges are Etherscan label slugs of centralised exchanges.
var exchanges = map[string]bool{
	"exchange": true, "binance": true, "coinbase": true, "kraken": true, "kucoin": true, "okx": true, "okex": true, "huobi": true,
	"htx": true, "bitfinex": true, "gemini": true, "bybit": true, "ftx": true, "gate-io": true, "crypto-com": true, "bitstamp": true,
	"poloniex": true, "upbit": true, "bithumb": true, "bittrex": true, "mexc": true, "bitget": true, "coinone": true, "korbit": true,
	"bitflyer": true, "liquid": true, "hitbtc": true, "bitmex": true, "deribit": true, "zb-com": true,
}

// nameSuffix is an exchange wallet's number or role after its name:
// "Binance 14", "Kraken: Hot Wallet".
var nameSuffix = regexp.MustCompile(`(:.*| \d+| #\d+)$`)

func etherscanCategory(labels []string) Category {
	for _, l := range labels {
		switch l := strings.ToLower(l); {
		case l == "ofac-sanctioned" || l == "sanctioned" || l == "blocked":
			return Sanctioned
		case l == "tornado-cash" || strings.Contains(l, "mixer"):
			return Mixer
		case l == "phish-hack" || l == "heist" || l == "exploit" || l == "hack":
			return Hack
		case l == "scam" || strings.Contains(l, "phish"):
			return Scam
		case l == "bridge":
			return Bridge
		case exchanges[l]:
			return Exchange
		}
	}
	for _, l := range labels {
		switch strings.ToLower(l) {
		case "dex", "defi", "lending", "yield-farming", "sushiswap", "uniswap", "balancer", "curve-fi", "aave", "compound", "bancor", "1inch":
			return DeFi
		case "gambling":
			return Gambling
		case "mining":
			return Miner
		}
	}
	return Unknown
}

// ParseEtherscan reads Etherscan's label export:
// {"0x...": {"name": "...", "labels": ["..."]}}.
func ParseEtherscan(data []byte, file string, p *chain.Parser) ([]Tag, []Problem, error) {
	var raw map[string]struct {
		Name   string   `json:"name"`
		Labels []string `json:"labels"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", file, err)
	}
	var out []Tag
	var problems []Problem
	for a, v := range raw {
		addr, err := p.Parse(a, chain.Ethereum)
		if err != nil {
			problems = append(problems, Problem{File: file, Input: a, Reason: chain.ErrorReason(err)})
			continue
		}
		name := strings.TrimSpace(v.Name)
		entity := strings.TrimSpace(nameSuffix.ReplaceAllString(name, ""))
		if entity == "" && len(v.Labels) > 0 {
			entity = v.Labels[0]
		}
		out = append(out, Tag{Address: addr, Entity: entity, Label: name, Category: etherscanCategory(v.Labels),
			Source: "etherscan", Pack: file, Confidence: Confidence(EtherscanConfidence), ConfidenceLevel: EtherscanConfidence})
	}
	return out, problems, nil
}
