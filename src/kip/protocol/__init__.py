"""kip's protocol engine: pure rules over a versioned protocol file. No web or database imports."""
