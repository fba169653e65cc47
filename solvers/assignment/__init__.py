"""Order-to-factory assignment with multi-period capacity: back-ends and the shared problem."""
