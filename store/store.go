// Package store documents how tracehound persists data. Each domain package
// (sanctions, tags, ...) defines the storage interface it needs; the
// implementations live in subpackages: store/pebble is the embedded default.
package store
