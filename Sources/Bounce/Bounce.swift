// Bounce: see Package.swift for the layering.
