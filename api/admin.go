package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// maxUpload bounds an uploaded list or tag file. The OFAC advanced XML is
// 121 MB unpacked.
const maxUpload = 1 << 30

// uploadDeadline bounds the time to upload a list or tag file.
const uploadDeadline = 15 * time.Minute

// saveUpload writes the request body to a temporary file, so that the
// importer can parse it as it parses a file given on the command line.
func (s *Server) saveUpload(w http.ResponseWriter, r *http.Request) (path, name string, ok bool) {
	name = filepath.Base(r.URL.Query().Get("name"))
	if name == "." || name == "/" || name == "" {
		name = "upload"
	}
	f, err := os.CreateTemp("", "tracehound-upload-*-"+strings.ReplaceAll(name, string(os.PathSeparator), "_"))
	if err != nil {
		writeError(w, r, http.StatusInternalServerError, "internal", "cannot store upload")
		return "", "", false
	}
	// An authenticated administrator's list may take longer to upload
	// than the server's read deadline allows strangers.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(uploadDeadline))
	body := http.MaxBytesReader(w, r.Body, maxUpload)
	if _, err := io.Copy(f, body); err != nil {
		f.Close()
		os.Remove(f.Name())
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, r, http.StatusRequestEntityTooLarge, "payload_too_large", fmt.Sprintf("upload over %d bytes", int64(maxUpload)))
			return "", "", false
		}
		writeError(w, r, http.StatusBadRequest, "upload_failed", "reading upload: "+err.Error())
		return "", "", false
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		writeError(w, r, http.StatusInternalServerError, "internal", "cannot store upload")
		return "", "", false
	}
	return f.Name(), name, true
}

func (s *Server) importSanctions(w http.ResponseWriter, r *http.Request) {
	path, name, ok := s.saveUpload(w, r)
	if !ok {
		return
	}
	defer os.Remove(path)
	res, err := s.cfg.Admin.ImportSanctionsFile(r.Context(), path, name)
	if err != nil {
		writeError(w, r, http.StatusUnprocessableEntity, "import_failed", err.Error()+"; the previous list stays in force")
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) importTags(w http.ResponseWriter, r *http.Request) {
	path, name, ok := s.saveUpload(w, r)
	if !ok {
		return
	}
	defer os.Remove(path)
	res, err := s.cfg.Admin.ImportTags(r.Context(), path, name)
	if err != nil {
		writeError(w, r, http.StatusUnprocessableEntity, "import_failed", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) sanctionsVersions(w http.ResponseWriter, r *http.Request) {
	res, err := s.cfg.Admin.SanctionsVersions(r.Context())
	if err != nil {
		writeError(w, r, http.StatusInternalServerError, "internal", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, res)
}
