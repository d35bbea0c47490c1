// SPDX-License-Identifier: GPL-2.0

//! Runs the driver's shared test cases (also run by KUnit in the kernel).

/// Defines one `#[test]` per case of each driver module.
macro_rules! host_cases {
    ($($module:ident: [$($case:ident),* $(,)?]),* $(,)?) => {$(
        mod $module {$(
            #[test]
            fn $case() {
                if let Err(f) = crate::$module::cases::$case() {
                    panic!("{}:{}: check failed: {}", f.file, f.line, f.check);
                }
            }
        )*}
    )*};
}

host_cases! {
    abi: [
        layout_matches_the_c_header,
        constants_match_the_c_header,
    ],
    config: [
        defaults_are_the_c_drivers,
        ring_pages_power_of_two_up_to_32,
        msg_ring_pages_power_of_two_up_to_16,
        cmd_per_lun_range,
        poll_queues_0_or_1,
        refusal_names_allowed_values,
        automatic_ring_size,
        reported_target_counts,
        disable_flags,
    ],
    ring_index: [
        geometry,
        slots_wrap,
        pending_across_wrap_around,
        corrupt_indices_are_refused,
        full_ring,
        device_log2_check,
    ],
    status: [
        every_host_status,
        success_good,
        residual_rule,
        clean_agrees_with_map,
        short_read_write_is_never_complete,
        check_condition_keeps_sense,
        check_condition_with_data_phase,
        sense_length_is_bounded,
        other_statuses_pass_through,
        reserved_status_is_refused,
        command_terminated_is_did_reset,
        overrun_is_an_error,
    ],
    request: [
        no_segments,
        one_segment_inline,
        two_segments_use_the_list,
        full_list_of_128,
        bad_scatter_lists_are_refused,
        descriptor_fields,
        descriptor_directions_and_lun,
        doorbells,
        coalesced_doorbells,
        doorbells_per_batch,
        context_cookies,
        stamps_round_trip,
    ],
    message: [
        added_and_removed,
        malformed_messages_are_refused,
    ],
}

/// The load-time message names the parameter, the value and what is allowed.
#[test]
fn parameter_error_message() {
    let mut p = crate::config::DEFAULT_PARAMS;
    p.ring_pages = 3;
    let e = crate::config::Config::from_params(&p).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid ring_pages=3: allowed values are 0 (automatic) and 1, 2, 4, 8, 16, 32"
    );
}
