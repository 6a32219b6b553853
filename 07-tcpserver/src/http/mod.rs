//! HTTP/1.1 (placeholder: written in this chapter).
