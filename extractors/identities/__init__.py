"""Identity inputs: who owns which address (mailmap, alias files) and who works where
(dated affiliation files, gitdm maps, registrable domains)."""
