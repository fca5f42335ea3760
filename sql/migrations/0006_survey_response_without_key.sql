-- fact_survey_response loses its primary key. DuckDB keeps a key's whole index in memory while a
-- file loads (a 10-million-answer file needed more than 1 GB just for it), and the key's columns
-- are unique by construction: respondent ids are checked unique across the file, question codes
-- are unique in a definition, answer_no numbers the options of one answer. Rebuilt rather than
-- altered, because DuckDB cannot drop a constraint; the views are recreated after migrations.

DROP VIEW IF EXISTS reporting.survey_estimates;

CREATE TABLE dw.fact_survey_response_rebuilt (
    survey_id     TEXT NOT NULL,
    file_id       BIGINT NOT NULL,
    respondent_id TEXT NOT NULL,
    question_code TEXT NOT NULL,
    answer_no     INTEGER NOT NULL,         -- 1, or 1..k for the options of a multi-select answer
    numeric_value DOUBLE PRECISION,
    category_code TEXT,
    text_value    TEXT,
    weight        DOUBLE PRECISION NOT NULL
);

INSERT INTO dw.fact_survey_response_rebuilt
SELECT survey_id, file_id, respondent_id, question_code, answer_no, numeric_value, category_code,
    text_value, weight
FROM dw.fact_survey_response;

DROP TABLE dw.fact_survey_response;

ALTER TABLE dw.fact_survey_response_rebuilt RENAME TO fact_survey_response;
