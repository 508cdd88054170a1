"""Operations metrics computed on demand in SQL: activity, retention, growth, customer and report."""
