// Reactor: see Package.swift for the layering.
