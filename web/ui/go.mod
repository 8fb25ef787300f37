// This module exists only so that the Go tool does not walk into
// node_modules (some npm packages ship .go files): web/ui holds the web
// interface's TypeScript sources, built into web/dist.
module github.com/tracehound/tracehound/web/ui

go 1.26.0
