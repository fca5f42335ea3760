-- Survey files: surveys, their questions, the files loaded, and every answer with its weight.

CREATE TABLE IF NOT EXISTS dw.dim_survey (
    survey_id       TEXT PRIMARY KEY,
    title           TEXT NOT NULL,
    producer        TEXT NOT NULL,
    country_code    TEXT NOT NULL,
    fieldwork_start DATE,
    fieldwork_end   DATE,
    data_note       TEXT NOT NULL           -- real (with its source) or synthetic
);

CREATE TABLE IF NOT EXISTS dw.dim_question (
    survey_id     TEXT NOT NULL,
    question_code TEXT NOT NULL,
    text          TEXT NOT NULL,
    type          TEXT NOT NULL,            -- categorical | numeric | text | multi_select
    value_labels  TEXT,                     -- JSON object code → label
    min_value     DOUBLE PRECISION,
    max_value     DOUBLE PRECISION,
    PRIMARY KEY (survey_id, question_code)
);

CREATE SEQUENCE IF NOT EXISTS etl.survey_file_id_seq;

CREATE TABLE IF NOT EXISTS etl.survey_file (
    file_id    BIGINT PRIMARY KEY DEFAULT nextval('etl.survey_file_id_seq'),
    survey_id  TEXT NOT NULL,
    file_name  TEXT NOT NULL,
    sha256     VARCHAR(64) NOT NULL UNIQUE, -- the same bytes load once
    format     TEXT NOT NULL,
    rows_in    BIGINT NOT NULL,
    loaded_at  TIMESTAMP WITH TIME ZONE NOT NULL
);

CREATE TABLE IF NOT EXISTS dw.fact_survey_response (
    survey_id     TEXT NOT NULL,
    file_id       BIGINT NOT NULL,
    respondent_id TEXT NOT NULL,
    question_code TEXT NOT NULL,
    answer_no     INTEGER NOT NULL,         -- 1, or 1..k for the options of a multi-select answer
    numeric_value DOUBLE PRECISION,
    category_code TEXT,
    text_value    TEXT,
    weight        DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (file_id, respondent_id, question_code, answer_no)
);
