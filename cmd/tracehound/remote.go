package main

import (
	"os"

	"github.com/tracehound/tracehound/api"
)

// apiKeyEnv holds the API key of commands sent to a running node.
const apiKeyEnv = "TRACEHOUND_API_KEY"

// remote returns a client of the node at server, with the key in
// $TRACEHOUND_API_KEY.
func remote(server string) (*api.Client, error) {
	key := os.Getenv(apiKeyEnv)
	if key == "" {
		return nil, usageError("--server needs an API key in $%s", apiKeyEnv)
	}
	return api.NewClient(server, key, nil), nil
}
