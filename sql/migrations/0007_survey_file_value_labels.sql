-- The value labels a .sav or .dta file carries ({column: {code: label}} as JSON), kept with the
-- file so that what the producer's software said can be compared with the survey's codebook.
ALTER TABLE etl.survey_file ADD COLUMN value_labels TEXT;
