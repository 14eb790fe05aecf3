"""The guided session: the routine, its safety questions and its lines, walked step by step."""
