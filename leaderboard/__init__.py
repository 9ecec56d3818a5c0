"""Data of the leaderboard (the results schema and the accepted submissions), importable as
``rods_leaderboard`` in an installed wheel so the code in ``rods_agents.leaderboard`` finds it."""
