"""`/cx`: the command's dispatch to the features' subcommands, help, and what the
bot answers when someone writes to it. Its parts: `call` (what a subcommand is given),
`listeners`, `messages`, `blocks` (the help list), `feature` (its registry entry)."""
