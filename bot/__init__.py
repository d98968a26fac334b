"""How the product talks: Slack, the command line, HTTP and schedules."""
