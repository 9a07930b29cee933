//! Check: AST to IR (placeholder until the checker lands in this change).
