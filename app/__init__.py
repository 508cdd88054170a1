"""OpsGraph: a GraphQL backend for user-operations teams."""
