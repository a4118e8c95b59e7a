use super::*;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// Records one second apart, starting at a realistic epoch.
fn every_second(n: usize) -> Timeline {
    Timeline::from_times((0..n).map(|i| Some(1.7e9 + i as f64)))
}

fn clock(n: usize, speed: f64) -> ReplayClock {
    ReplayClock::new(every_second(n), speed)
}

#[test]
fn wall_time_maps_virtual_seconds_to_records() {
    let t = every_second(101);
    assert_eq!(
        t.pacing(),
        Pacing::WallTime {
            median: 1.0,
            squeezed: 0
        }
    );
    assert_eq!(t.duration(), 100.0);
    assert_eq!(t.records_at(0.0), 1, "the first record is on show at 0");
    assert_eq!(t.records_at(0.999), 1);
    assert_eq!(t.records_at(1.0), 2);
    assert_eq!(t.records_at(42.5), 43);
    assert_eq!(t.records_at(100.0), 101);
    assert_eq!(t.records_at(1e9), 101);
    assert_eq!(t.records_at(-5.0), 1);
}

#[test]
fn every_speed_advances_by_real_time_times_speed() {
    for &speed in &SPEEDS {
        // Long enough that no speed reaches the end in 0.5 s of real time.
        let mut c = clock(1_000_001, speed);
        c.toggle();
        assert!(c.playing());
        for _ in 0..2 {
            c.advance(secs(0.25));
        }
        let expected = 0.5 * speed;
        assert!(
            (c.position() - expected).abs() < 1e-6,
            "×{speed}: at {} not {expected}",
            c.position()
        );
        assert_eq!(c.records(), expected.floor() as usize + 1, "×{speed}");
    }
}

#[test]
fn advance_reports_only_visible_changes_and_nothing_while_paused() {
    let mut c = clock(11, 1.0);
    assert!(!c.advance(secs(5.0)), "paused: nothing moves");
    assert_eq!(c.position(), 0.0);
    c.toggle();
    assert!(!c.advance(secs(0.4)), "still record 0");
    assert!(c.advance(secs(0.7)), "record 1 appears");
    assert_eq!(c.records(), 2);
}

#[test]
fn playing_into_the_end_stops_there_and_play_again_restarts() {
    let mut c = clock(11, 2.0);
    c.toggle();
    assert!(c.advance(secs(100.0)));
    assert!(!c.playing(), "paused at the end");
    assert!(c.at_end());
    assert_eq!(c.records(), 11);
    assert_eq!(c.position(), 10.0);
    c.toggle();
    assert!(c.playing());
    assert_eq!(c.records(), 1, "play at the end starts over");
    c.toggle();
    assert!(!c.playing());
    assert_eq!(c.position(), 0.0);
}

#[test]
fn speed_keys_step_through_the_list_and_clamp() {
    let mut c = clock(10, 1.0);
    let mut seen = vec![c.speed()];
    for _ in 0..SPEEDS.len() + 2 {
        c.faster();
        seen.push(c.speed());
    }
    assert_eq!(&seen[..SPEEDS.len() - 2], &SPEEDS[2..]);
    assert_eq!(c.speed(), MAX_SPEED);
    for _ in 0..SPEEDS.len() + 2 {
        c.slower();
    }
    assert_eq!(c.speed(), MIN_SPEED);
    // A speed between the steps goes to its neighbours.
    let mut c = clock(10, 3.0);
    c.faster();
    assert_eq!(c.speed(), 5.0);
    let mut c = clock(10, 3.0);
    c.slower();
    assert_eq!(c.speed(), 2.0);
    assert_eq!(clock(10, 5000.0).speed(), MAX_SPEED);
    assert_eq!(clock(10, 0.0).speed(), MIN_SPEED);
    assert_eq!(clock(10, f64::NAN).speed(), 1.0);
}

#[test]
fn seeks_move_by_fractions_of_the_run_and_clamp() {
    // 1001 records one second apart: 1% is 10 s, 10% is 100 s.
    let mut c = clock(1001, 1.0);
    c.seek_fraction(0.5);
    assert_eq!(c.position(), 500.0);
    c.seek_by(0.01);
    assert_eq!(c.position(), 510.0);
    c.seek_by(-0.01);
    assert_eq!(c.position(), 500.0);
    c.seek_by(0.1);
    assert_eq!(c.position(), 600.0);
    c.seek_by(-0.1);
    c.seek_by(-0.1);
    assert_eq!(c.position(), 400.0);
    assert_eq!(c.records(), 401);
    for _ in 0..20 {
        c.seek_by(-0.1);
    }
    assert_eq!(c.position(), 0.0, "clamped at the start");
    for _ in 0..200 {
        c.seek_by(0.01);
    }
    assert_eq!(c.position(), 1000.0, "clamped at the end");
    c.home();
    assert_eq!((c.position(), c.records()), (0.0, 1));
    c.end();
    assert_eq!((c.position(), c.records()), (1000.0, 1001));
    c.seek_fraction(f64::NAN);
    assert_eq!(c.position(), 1000.0, "a NaN seek is ignored");
    c.seek_record(7);
    assert_eq!(c.current(), Some(7));
    c.seek_record(1_000_000);
    assert_eq!(c.current(), Some(1000));
}

#[test]
fn seeks_keep_playing_and_end_stops_at_the_next_tick() {
    let mut c = clock(101, 1.0);
    c.toggle();
    c.seek_by(0.1);
    assert!(c.playing());
    c.end();
    assert!(c.playing());
    assert!(c.advance(Duration::ZERO));
    assert!(!c.playing(), "the end pauses");
    c.seek_by(-0.5);
    assert!(!c.playing(), "a seek does not start playing");
    assert_eq!(c.records(), 51);
}

#[test]
fn next_and_previous_event_jump_between_marks() {
    let marks = [10, 20, 20, 55];
    let mut c = clock(101, 1.0);
    assert!(c.next_mark(&marks));
    assert_eq!(c.current(), Some(10));
    assert!(c.next_mark(&marks));
    assert_eq!(c.current(), Some(20));
    assert!(c.next_mark(&marks), "a repeated mark is one stop");
    assert_eq!(c.current(), Some(55));
    assert!(!c.next_mark(&marks), "no event after the last");
    assert_eq!(c.current(), Some(55));
    assert!(c.prev_mark(&marks), "from an event to the one before");
    assert_eq!(c.current(), Some(20));
    // Between events, back goes to the latest one passed.
    c.seek_record(40);
    assert!(c.prev_mark(&marks));
    assert_eq!(c.current(), Some(20));
    assert!(c.prev_mark(&marks));
    assert_eq!(c.current(), Some(10));
    assert!(!c.prev_mark(&marks), "none before the first");
    assert_eq!(c.current(), Some(10));
    c.seek_record(5);
    assert!(!c.prev_mark(&marks));
    assert!(!c.next_mark(&[]) && !c.prev_mark(&[]));
    assert!(!c.next_mark(&[500]), "a mark past the run is ignored");
}

#[test]
fn events_logged_at_the_same_instant_are_one_stop() {
    // Records 2, 3 and 4 share a wall time (one step, several events).
    let t = Timeline::from_times(
        [0.0, 1.0, 2.0, 2.0, 2.0, 3.0, 4.0]
            .into_iter()
            .map(Some)
            .collect::<Vec<_>>()
            .into_iter(),
    );
    let mut c = ReplayClock::new(t, 1.0);
    let marks = [1, 3, 4, 6];
    assert!(c.next_mark(&marks));
    assert_eq!(c.current(), Some(1));
    assert!(c.next_mark(&marks));
    assert_eq!(
        c.current(),
        Some(4),
        "records of one instant appear together"
    );
    assert!(c.next_mark(&marks));
    assert_eq!(c.current(), Some(6));
    assert!(c.prev_mark(&marks));
    assert_eq!(c.current(), Some(4));
    assert!(c.prev_mark(&marks), "not stuck inside the group");
    assert_eq!(c.current(), Some(1));
}

#[test]
fn a_huge_gap_is_played_as_one_median_gap() {
    // One record a second, then the run resumed three hours later.
    let times = (0..50)
        .map(|i| 1000.0 + i as f64)
        .chain((0..50).map(|i| 1000.0 + 50.0 + 3.0 * 3600.0 + i as f64))
        .map(Some)
        .collect::<Vec<_>>();
    let t = Timeline::from_times(times.into_iter());
    assert_eq!(
        t.pacing(),
        Pacing::WallTime {
            median: 1.0,
            squeezed: 1
        }
    );
    assert_eq!(t.duration(), 99.0);
    assert_eq!(t.at(50) - t.at(49), 1.0);
    // Gaps up to GAP_FACTOR medians are real and kept.
    let t = Timeline::from_times(
        [0.0, 1.0, 2.0, 2.0 + GAP_FACTOR, 3.0 + GAP_FACTOR]
            .into_iter()
            .map(Some)
            .collect::<Vec<_>>()
            .into_iter(),
    );
    assert_eq!(t.duration(), 3.0 + GAP_FACTOR);
}

#[test]
fn bursts_of_records_play_at_their_recorded_pace() {
    // 1,000 records a second for 60 s, written in batches of five every
    // 5 ms, the records of a batch 10 µs apart.
    let times = (0..60_000).map(|i| Some(1.7e9 + (i / 5) as f64 * 0.005 + (i % 5) as f64 * 1e-5));
    let t = Timeline::from_times(times);
    assert!((t.duration() - 60.0).abs() < 0.1, "{}", t.duration());
    assert!(
        matches!(t.pacing(), Pacing::WallTime { median, squeezed: 0 } if (median - 1e-5).abs() < 1e-6),
        "{:?}",
        t.pacing()
    );
    // Bursts a second apart, and the run resumed an hour later: the hour
    // is still squeezed, the seconds are not.
    let times = (0..6_000)
        .map(|i| (i / 100) as f64 + (i % 100) as f64 * 1e-4)
        .chain((0..6_000).map(|i| 3660.0 + (i / 100) as f64 + (i % 100) as f64 * 1e-4))
        .map(|t| Some(1.7e9 + t))
        .collect::<Vec<_>>();
    let t = Timeline::from_times(times.into_iter());
    assert!((t.duration() - 118.02).abs() < 0.01, "{}", t.duration());
    assert!(matches!(t.pacing(), Pacing::WallTime { squeezed: 1, .. }));
}

#[test]
fn times_that_go_back_or_are_missing_are_squeezed() {
    let t = Timeline::from_times(
        [
            Some(10.0),
            Some(12.0),
            Some(5.0), // the clock went back
            Some(7.0),
            None, // no time
            Some(9.0),
            Some(f64::NAN),
            Some(f64::INFINITY),
            Some(11.0),
            Some(13.0),
            Some(15.0),
            Some(17.0),
            Some(19.0),
            Some(21.0),
            Some(23.0),
        ]
        .into_iter(),
    );
    assert_eq!(
        t.pacing(),
        Pacing::WallTime {
            median: 2.0,
            squeezed: 6
        }
    );
    assert_eq!(t.len(), 15);
    assert_eq!(t.duration(), 14.0 * 2.0);
    assert!((1..t.len()).all(|i| t.at(i) > t.at(i - 1)));
}

#[test]
fn without_usable_times_records_play_at_a_steady_rate() {
    let steady = |times: Vec<Option<f64>>| {
        let t = Timeline::from_times(times.into_iter());
        assert_eq!(t.pacing(), Pacing::Steady);
        t
    };
    let t = steady(vec![None; 11]);
    assert_eq!(t.duration(), 10.0 * STEADY_SECS);
    assert_eq!(t.records_at(0.55), 6);
    // Mostly absent: steady, not a few real gaps and many guesses.
    let mut mostly = vec![None; 10];
    mostly[3] = Some(100.0);
    mostly[4] = Some(101.0);
    steady(mostly);
    // NaN is absent.
    steady(vec![Some(f64::NAN); 5]);
    // Every record at the same instant: time never advanced.
    steady(vec![Some(7.0); 5]);
    // The clock ran backwards throughout.
    steady((0..10).rev().map(|i| Some(i as f64)).collect());
    // Times at the ends of the f64 range: gaps and their sum overflow. The
    // timeline was once infinitely long ("0:00 / 5124095576030431:00:15").
    let t = steady([-1e308, 1e308, 5e-324, 1e308, f64::MAX].map(Some).to_vec());
    assert_eq!(t.duration(), 4.0 * STEADY_SECS);
    let t = Timeline::from_times([Some(-f64::MAX), Some(f64::MAX), Some(f64::MAX)].into_iter());
    assert!(t.duration().is_finite(), "{}", t.duration());
}

#[test]
fn an_empty_run_has_nothing_to_play() {
    let t = Timeline::from_times(std::iter::empty());
    assert!(t.is_empty());
    assert_eq!(t.duration(), 0.0);
    let mut c = ReplayClock::new(t, 1.0);
    assert_eq!((c.records(), c.current()), (0, None));
    c.toggle();
    assert!(!c.playing());
    c.set_playing(true);
    assert!(!c.playing());
    assert!(!c.advance(secs(1.0)));
    c.seek_by(0.1);
    c.end();
    c.seek_record(3);
    assert_eq!(c.records(), 0);
    assert!(!c.next_mark(&[0]) && !c.prev_mark(&[0]));
}

#[test]
fn a_single_record_is_always_at_its_end() {
    for time in [Some(5.0), None] {
        let mut c = ReplayClock::new(Timeline::from_times([time].into_iter()), 1.0);
        assert_eq!(c.records(), 1);
        assert!(c.at_end());
        assert_eq!(c.shown_fraction(), 1.0);
        c.toggle();
        assert!(c.playing());
        assert!(c.advance(secs(0.1)));
        assert!(!c.playing(), "nothing to play: paused again");
        c.seek_by(-0.5);
        assert_eq!(c.records(), 1);
    }
}

#[test]
fn the_scrubber_position_is_the_newest_record_on_show() {
    let mut c = clock(11, 1.0);
    c.seek_fraction(0.55);
    assert_eq!(c.position(), 5.5);
    assert_eq!(c.shown_fraction(), 0.5);
    c.end();
    assert_eq!(c.shown_fraction(), 1.0);
}

#[test]
fn the_default_speed_plays_a_run_within_a_minute() {
    assert_eq!(auto_speed(0.0), 1.0);
    assert_eq!(auto_speed(60.0), 1.0);
    assert_eq!(auto_speed(89.1), 2.0); // an 89 s run
    assert_eq!(auto_speed(1222.7), 50.0); // a 20-minute run
    assert_eq!(auto_speed(1e9), MAX_SPEED);
}

#[test]
fn speeds_are_validated_with_a_clear_message() {
    assert_eq!(parse_speed("0.25"), Ok(0.25));
    assert_eq!(parse_speed("1000"), Ok(1000.0));
    assert_eq!(parse_speed("20x"), Ok(20.0));
    assert_eq!(parse_speed(" 3 "), Ok(3.0));
    for bad in ["0.2", "2000", "-1", "0", "NaN", "inf"] {
        let e = parse_speed(bad).unwrap_err();
        assert!(e.contains("0.25 to 1000"), "{bad}: {e}");
    }
    assert!(parse_speed("fast").unwrap_err().contains("not a number"));
}

#[test]
fn speeds_and_clocks_read_well() {
    assert_eq!(format_speed(0.25), "×0.25");
    assert_eq!(format_speed(1.0), "×1");
    assert_eq!(format_speed(1000.0), "×1000");
    assert_eq!(format_clock(0.9), "0:00");
    assert_eq!(format_clock(89.1), "1:29");
    assert_eq!(format_clock(3725.0), "1:02:05");
}
