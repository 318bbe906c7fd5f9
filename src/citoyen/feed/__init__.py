"""The neighbourhood feed (PopVox): what happens in each quartier, newest first, and residents' posts."""
