//! kite's embedded offline dataset: hourly history of redistributable grid series and typical-week profiles.
