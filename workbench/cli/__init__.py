"""The command-line face: parse options, make one facade call, print the result."""
