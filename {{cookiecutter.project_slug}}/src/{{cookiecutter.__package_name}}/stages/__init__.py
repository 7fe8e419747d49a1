"""One thin module per DVC stage: parse arguments, call the library. Plumbing, rarely edited."""
