"""The local development stack: the whole upload pipeline on one machine."""
