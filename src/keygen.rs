//! Secret and id generation (placeholder, being written).
