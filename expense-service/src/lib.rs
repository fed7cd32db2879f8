//! Service library.
