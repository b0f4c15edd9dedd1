//! Terra's embedded samples -> timeseries chunks (EVENTS.md section 4). One [`Series`] collects
//! the samples of one record, per Nexus series type, then cuts them into chunks of the record's
//! device.

use nexus_core::chunking::{SeriesSpec, chunk_samples};
use nexus_core::items::{Sample, TemperatureKind};
use nexus_core::{CaptureMode, Device, Error, EventType, ItemBody, Normalized, Result};

use super::{count_at, non_negative_at, percent_at};
use crate::PROVIDER;
use crate::payload::{
    BreathSample, CalorieSample, DistanceSample, GlucoseSample, HeartRateDetailed, LevelSample,
    OxygenSample, StepSample, TemperatureSample,
};
use crate::stamp::{Stamp, stamp_ms};

/// Top of the stress scale Terra reports (0-100, Garmin-style).
const STRESS_SCALE_MAX: f64 = 100.0;
/// `OxygenSaturationSample.type` of a muscle (SmO2) reading; blood (SpO2) is 0 or absent.
const OXYGEN_TYPE_MUSCLE: f64 = 1.0;

/// The samples of one record, by series type.
pub(crate) struct Series<'a> {
    user_id: &'a str,
    device: Option<&'a (String, Device)>,
    capture_mode: Option<CaptureMode>,
    heart_rate: Vec<Sample>,
    rmssd: Vec<Sample>,
    sdnn: Vec<Sample>,
    steps: Vec<Sample>,
    calories: Vec<Sample>,
    distance: Vec<Sample>,
    spo2: Vec<Sample>,
    respiration: Vec<Sample>,
    skin_temp: Vec<Sample>,
    body_temp: Vec<Sample>,
    glucose: Vec<Sample>,
    stress: Vec<Sample>,
}

/// Epoch ms of sample `i` of the array at `path`; the field path is built only for an error.
fn ts(path: &str, i: usize, t: Option<&Stamp>) -> Result<i64> {
    stamp_ms(t, || format!("{path}[{i}].timestamp"))
}

impl<'a> Series<'a> {
    /// Samples of user `user_id` from `device`.
    pub fn new(
        user_id: &'a str,
        device: Option<&'a (String, Device)>,
        capture_mode: Option<CaptureMode>,
    ) -> Self {
        Series {
            user_id,
            device,
            capture_mode,
            heart_rate: Vec::new(),
            rmssd: Vec::new(),
            sdnn: Vec::new(),
            steps: Vec::new(),
            calories: Vec::new(),
            distance: Vec::new(),
            spo2: Vec::new(),
            respiration: Vec::new(),
            skin_temp: Vec::new(),
            body_temp: Vec::new(),
            glucose: Vec::new(),
            stress: Vec::new(),
        }
    }

    /// `heart_rate_data.detailed`: heart rate, HRV RMSSD and HRV SDNN, each to its own series.
    pub fn heart(&mut self, path: &str, d: Option<&HeartRateDetailed>) -> Result<()> {
        let Some(d) = d else { return Ok(()) };
        if let Some(samples) = &d.hr_samples {
            self.heart_rate.reserve(samples.len());
            for (i, s) in samples.iter().enumerate() {
                let at = || format!("{path}.hr_samples[{i}]");
                if let Some(v) = non_negative_at(s.bpm, || at() + ".bpm")? {
                    let t = stamp_ms(s.timestamp.as_ref(), || at() + ".timestamp")?;
                    self.heart_rate.push(Sample::one(t, v));
                }
            }
        }
        if let Some(samples) = &d.hrv_samples_rmssd {
            self.rmssd.reserve(samples.len());
            for (i, s) in samples.iter().enumerate() {
                let at = || format!("{path}.hrv_samples_rmssd[{i}]");
                if let Some(v) = non_negative_at(s.hrv_rmssd, || at() + ".hrv_rmssd")? {
                    let t = stamp_ms(s.timestamp.as_ref(), || at() + ".timestamp")?;
                    self.rmssd.push(Sample::one(t, v));
                }
            }
        }
        if let Some(samples) = &d.hrv_samples_sdnn {
            self.sdnn.reserve(samples.len());
            for (i, s) in samples.iter().enumerate() {
                let at = || format!("{path}.hrv_samples_sdnn[{i}]");
                if let Some(v) = non_negative_at(s.hrv_sdnn, || at() + ".hrv_sdnn")? {
                    let t = stamp_ms(s.timestamp.as_ref(), || at() + ".timestamp")?;
                    self.sdnn.push(Sample::one(t, v));
                }
            }
        }
        Ok(())
    }

    /// Step samples: the steps Terra reports at each timestamp; Terra gives no interval length, so
    /// `duration_s` is null.
    pub fn steps(&mut self, path: &str, samples: Option<&Vec<StepSample>>) -> Result<()> {
        self.steps.reserve(samples.map_or(0, Vec::len));
        for (i, s) in samples.into_iter().flatten().enumerate() {
            if let Some(v) = count_at(s.steps, || format!("{path}[{i}].steps"))? {
                #[allow(clippy::cast_precision_loss)] // counts are < 2^53, checked by `count`
                let v = v as f64;
                self.steps.push(Sample::interval(
                    ts(path, i, s.timestamp.as_ref())?,
                    None,
                    v,
                ));
            }
        }
        Ok(())
    }

    /// Calorie samples (kcal at each timestamp, no interval length).
    pub fn calories(&mut self, path: &str, samples: Option<&Vec<CalorieSample>>) -> Result<()> {
        self.calories.reserve(samples.map_or(0, Vec::len));
        for (i, s) in samples.into_iter().flatten().enumerate() {
            if let Some(v) = non_negative_at(s.calories, || format!("{path}[{i}].calories"))? {
                self.calories.push(Sample::interval(
                    ts(path, i, s.timestamp.as_ref())?,
                    None,
                    v,
                ));
            }
        }
        Ok(())
    }

    /// Distance samples. Terra documents `distance_meters` as cumulative since the start of the
    /// payload; the Nexus column is the distance of an interval, so each pair of consecutive
    /// samples becomes one interval sample (start `ts`, `duration_s` to the next sample, meters
    /// between them). A decreasing total is refused: it would make a negative distance.
    pub fn distance(&mut self, path: &str, samples: Option<&Vec<DistanceSample>>) -> Result<()> {
        let mut points: Vec<(i64, f64, usize)> = Vec::new();
        for (i, s) in samples.into_iter().flatten().enumerate() {
            if let Some(v) =
                non_negative_at(s.distance_meters, || format!("{path}[{i}].distance_meters"))?
            {
                points.push((ts(path, i, s.timestamp.as_ref())?, v, i));
            }
        }
        points.sort_by_key(|p| p.0);
        // One point per timestamp, the last in input order wins.
        points.dedup_by(|later, earlier| {
            if later.0 == earlier.0 {
                *earlier = *later;
                true
            } else {
                false
            }
        });
        for pair in points.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            // Rounded to the micrometer: removes binary floating-point noise of the subtraction
            // (1430.9 - 712.4 = 718.5000000000001), far below any sensor's resolution.
            let meters = ((b.1 - a.1) * 1e6).round() / 1e6;
            if !meters.is_finite() || meters < 0.0 {
                return Err(Error::malformed(
                    PROVIDER,
                    format!("{path}[{}].distance_meters", b.2),
                    format!(
                        "the cumulative distance goes from {} to {}: not a distance",
                        a.1, b.1
                    ),
                ));
            }
            #[allow(clippy::cast_precision_loss)] // ms gaps between samples are far below 2^53
            let duration_s = (b.0 - a.0) as f64 / 1000.0;
            self.distance
                .push(Sample::interval(a.0, Some(duration_s), meters));
        }
        Ok(())
    }

    /// Oxygen saturation samples: blood (SpO2) readings only; muscle (SmO2) ones are skipped.
    pub fn spo2(&mut self, path: &str, samples: Option<&Vec<OxygenSample>>) -> Result<()> {
        self.spo2.reserve(samples.map_or(0, Vec::len));
        for (i, s) in samples.into_iter().flatten().enumerate() {
            if s.kind == Some(OXYGEN_TYPE_MUSCLE) {
                continue;
            }
            if let Some(v) = percent_at(s.percentage, || format!("{path}[{i}].percentage"))? {
                self.spo2
                    .push(Sample::one(ts(path, i, s.timestamp.as_ref())?, v));
            }
        }
        Ok(())
    }

    /// Breathing rate samples, breaths per minute.
    pub fn respiration(&mut self, path: &str, samples: Option<&Vec<BreathSample>>) -> Result<()> {
        self.respiration.reserve(samples.map_or(0, Vec::len));
        for (i, s) in samples.into_iter().flatten().enumerate() {
            if let Some(v) =
                non_negative_at(s.breaths_per_min, || format!("{path}[{i}].breaths_per_min"))?
            {
                self.respiration
                    .push(Sample::one(ts(path, i, s.timestamp.as_ref())?, v));
            }
        }
        Ok(())
    }

    /// Temperature samples (Celsius) of `kind` (skin or body).
    pub fn temperature(
        &mut self,
        path: &str,
        kind: TemperatureKind,
        samples: Option<&Vec<TemperatureSample>>,
    ) -> Result<()> {
        for (i, s) in samples.into_iter().flatten().enumerate() {
            let Some(v) = s.temperature_celsius else {
                continue;
            };
            if !(-50.0..=60.0).contains(&v) {
                return Err(Error::malformed(
                    PROVIDER,
                    format!("{path}[{i}].temperature_celsius"),
                    format!("{v} is not a plausible temperature in Celsius"),
                ));
            }
            let sample = Sample::one(ts(path, i, s.timestamp.as_ref())?, v);
            match kind {
                TemperatureKind::Skin => self.skin_temp.push(sample),
                _ => self.body_temp.push(sample),
            }
        }
        Ok(())
    }

    /// Blood glucose samples, mg/dL.
    pub fn glucose(&mut self, path: &str, samples: Option<&Vec<GlucoseSample>>) -> Result<()> {
        self.glucose.reserve(samples.map_or(0, Vec::len));
        for (i, s) in samples.into_iter().flatten().enumerate() {
            if let Some(v) =
                non_negative_at(s.mg_dl, || format!("{path}[{i}].blood_glucose_mg_per_dL"))?
            {
                self.glucose
                    .push(Sample::one(ts(path, i, s.timestamp.as_ref())?, v));
            }
        }
        Ok(())
    }

    /// Stress level samples on Terra's 0-100 scale. Negative levels are the source's "no reading"
    /// markers (Garmin sends -1/-2 while off-wrist or moving) and carry no stress value: skipped.
    pub fn stress(&mut self, path: &str, samples: Option<&Vec<LevelSample>>) -> Result<()> {
        self.stress.reserve(samples.map_or(0, Vec::len));
        for (i, s) in samples.into_iter().flatten().enumerate() {
            let Some(v) = s.level else { continue };
            if v < 0.0 {
                continue;
            }
            if v > STRESS_SCALE_MAX {
                return Err(Error::malformed(
                    PROVIDER,
                    format!("{path}[{i}].level"),
                    format!("stress level {v} is above the 0-100 scale"),
                ));
            }
            self.stress
                .push(Sample::one(ts(path, i, s.timestamp.as_ref())?, v));
        }
        Ok(())
    }

    /// Cuts every series into chunks and adds them (and the device, if any chunk uses it).
    pub fn finish(self, out: &mut Normalized) {
        let key = self.device.map(|d| d.0.as_str());
        let skin_key = format!("{}/skin", key.unwrap_or("-"));
        let body_key = format!("{}/body", key.unwrap_or("-"));
        let parts: Vec<(EventType, Vec<Sample>, Option<&str>)> = vec![
            (EventType::HeartRateSeries, self.heart_rate, key),
            (EventType::HrvRmssdSeries, self.rmssd, key),
            (EventType::HrvSdnnSeries, self.sdnn, key),
            (EventType::StepsSeries, self.steps, key),
            (EventType::CaloriesSeries, self.calories, key),
            (EventType::DistanceSeries, self.distance, key),
            (EventType::Spo2Series, self.spo2, key),
            (EventType::RespirationSeries, self.respiration, key),
            (
                EventType::TemperatureSeries,
                self.skin_temp,
                Some(skin_key.as_str()),
            ),
            (
                EventType::TemperatureSeries,
                self.body_temp,
                Some(body_key.as_str()),
            ),
            (EventType::GlucoseSeries, self.glucose, key),
            (EventType::StressSeries, self.stress, key),
        ];
        let mut any = false;
        for (event_type, samples, native_key) in parts {
            let spec = SeriesSpec {
                device_native_id: native_key,
                device_id: self.device.map(|d| d.1.device_id.clone()),
                capture_mode: self.capture_mode,
                ..SeriesSpec::new(PROVIDER, event_type, self.user_id)
            };
            let is_skin = native_key.is_some_and(|k| k.ends_with("/skin"));
            for mut item in chunk_samples(&spec, samples) {
                match &mut item.body {
                    ItemBody::TemperatureSeries(t) => {
                        t.temperature_kind = Some(if is_skin {
                            TemperatureKind::Skin
                        } else {
                            TemperatureKind::Body
                        });
                    }
                    ItemBody::StressSeries(s) => s.scale_max = Some(STRESS_SCALE_MAX),
                    _ => {}
                }
                any = true;
                out.push(item);
            }
        }
        if let (true, Some((_, device))) = (any, self.device) {
            out.add_device(device.clone());
        }
    }
}
