"""Reports: the markdown a reviewer reads (PR comment, job summary) and the terminal table."""
