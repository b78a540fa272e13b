// Package optikpi speaks the Optikpi Data Pipeline API: record models and
// their validation, request signing, and a client that sends one batch.
package optikpi
