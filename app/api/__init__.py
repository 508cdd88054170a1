"""The GraphQL layer: schema assembly, context, loaders, permissions, limits, errors."""
