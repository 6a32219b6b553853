//! `fiber.stack_size` from YAML sets the stack of new fibers; a value out of
//! range is refused and the previous size kept. Alone in its binary: it
//! changes the process-wide configuration.

use sylar_fiber::{DEFAULT_STACK_SIZE, Fiber, default_stack_size};

#[test]
fn configured_stack_size_applies_to_new_fibers_and_bad_values_are_refused() {
    assert_eq!(default_stack_size(), DEFAULT_STACK_SIZE);
    assert_eq!(Fiber::new(|| {}).stack_size(), DEFAULT_STACK_SIZE);

    sylar_config::global()
        .load_yaml_str("fiber:\n  stack_size: 65536\n")
        .unwrap();
    assert_eq!(default_stack_size(), 65536);
    assert_eq!(Fiber::new(|| {}).stack_size(), 65536);

    // Typed correctly but impossible: kept out, the old size stays.
    sylar_config::global()
        .load_yaml_str("fiber:\n  stack_size: 1024\n")
        .unwrap();
    assert_eq!(default_stack_size(), 65536);

    // Not a number at all: the load itself fails and changes nothing.
    assert!(
        sylar_config::global()
            .load_yaml_str("fiber:\n  stack_size: lots\n")
            .is_err()
    );
    assert_eq!(Fiber::new(|| {}).stack_size(), 65536);
}
