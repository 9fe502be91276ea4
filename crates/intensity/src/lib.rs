//! Grid carbon-intensity providers (Electricity Maps, WattTime, UK Carbon Intensity, embedded) and file formats.
