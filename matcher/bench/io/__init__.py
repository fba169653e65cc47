"""Public benchmark formats: each format's own reader and independent verifier
(``gap``, ``jssp``, ``vrp``), and the engines' problems built from the files
(``gap.to_instance``, ``scheduling_problem``, ``routing_problem``)."""
