//! Terra `daily` -> `daily_summary` (one per local date, overwritten per date), plus the day's
//! heart rate, HRV, steps, calories, distance, SpO2 and stress samples as chunks.

use nexus_core::identity::daily_native_id;
use nexus_core::items::DailySummary;
use nexus_core::{Item, ItemBody, NormalizeContext, Normalized, Result};

use super::activity::{capture_mode, upload_type};
use super::{
    Series, count, data_of, day_of, device, metadata, minutes, non_negative, span, user_id,
};
use crate::PROVIDER;
use crate::payload::{self, DataEvent};

pub(super) fn normalize(body: &[u8], ctx: &NormalizeContext) -> Result<Normalized> {
    let (user, data) = data_of(payload::parse::<DataEvent<payload::Daily>>(body)?)?;
    let uid = user_id(user.as_ref(), "user.user_id", ctx)?;
    let mut out = Normalized::default();
    for (i, d) in data.iter().enumerate() {
        let m = metadata(d.metadata.as_ref(), i)?;
        let (start, _) = span(m, i)?;
        let p = |f: &str| format!("data[{i}].{f}");
        let (date, midnight) = day_of(&start, &p("metadata.start_time"))?;
        let dist = d.distance_data.as_ref();
        let cal = d.calories_data.as_ref();
        let act = d.active_durations_data.as_ref();
        let summary = DailySummary {
            date: date.clone(),
            timezone: None,
            steps: count(&p("distance_data.steps"), dist.and_then(|x| x.steps))?,
            distance_m: non_negative(
                &p("distance_data.distance_meters"),
                dist.and_then(|x| x.distance_meters),
            )?,
            floors: non_negative(
                &p("distance_data.floors_climbed"),
                dist.and_then(|x| x.floors_climbed),
            )?,
            calories_total_kcal: non_negative(
                &p("calories_data.total_burned_calories"),
                cal.and_then(|c| c.total_burned_calories),
            )?,
            calories_active_kcal: non_negative(
                &p("calories_data.net_activity_calories"),
                cal.and_then(|c| c.net_activity_calories),
            )?,
            active_minutes: minutes(
                &p("active_durations_data.activity_seconds"),
                act.and_then(|a| a.activity_seconds),
            )?,
            sedentary_minutes: minutes(
                &p("active_durations_data.inactivity_seconds"),
                act.and_then(|a| a.inactivity_seconds),
            )?,
            resting_heart_rate_bpm: non_negative(
                &p("heart_rate_data.summary.resting_hr_bpm"),
                d.heart_rate_data
                    .as_ref()
                    .and_then(|h| h.summary.as_ref())
                    .and_then(|s| s.resting_hr_bpm),
            )?,
        };
        let dev = device(user.as_ref(), d.device_data.as_ref());
        let mode = capture_mode(upload_type(&p("metadata.upload_type"), m.upload_type)?);
        out.push(
            Item::new(
                PROVIDER,
                &daily_native_id(&uid, &date),
                midnight,
                ItemBody::DailySummary(summary),
            )
            .with_device(dev.as_ref().map(|x| x.1.device_id.clone()))
            .with_capture_mode(mode),
        );
        if let Some(x) = &dev {
            out.add_device(x.1.clone());
        }
        let mut series = Series::new(&uid, dev.as_ref(), mode);
        series.heart(
            &p("heart_rate_data.detailed"),
            d.heart_rate_data.as_ref().and_then(|h| h.detailed.as_ref()),
        )?;
        let detailed = dist.and_then(|x| x.detailed.as_ref());
        series.steps(
            &p("distance_data.detailed.step_samples"),
            detailed.and_then(|x| x.step_samples.as_ref()),
        )?;
        series.distance(
            &p("distance_data.detailed.distance_samples"),
            detailed.and_then(|x| x.distance_samples.as_ref()),
        )?;
        series.calories(
            &p("calories_data.calorie_samples"),
            cal.and_then(|c| c.calorie_samples.as_ref()),
        )?;
        series.spo2(
            &p("oxygen_data.saturation_samples"),
            d.oxygen_data
                .as_ref()
                .and_then(|o| o.saturation_samples.as_ref()),
        )?;
        series.stress(
            &p("stress_data.samples"),
            d.stress_data.as_ref().and_then(|s| s.samples.as_ref()),
        )?;
        series.finish(&mut out);
    }
    Ok(out)
}
