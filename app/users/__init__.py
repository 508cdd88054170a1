"""End users of the operated product: profiles, tags, derived lifecycle stage."""
