// Postgres: see Package.swift for the layering.
