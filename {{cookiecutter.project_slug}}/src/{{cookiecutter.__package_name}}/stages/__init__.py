"""One thin module per DVC stage: parse arguments, call library functions, write outputs."""
