-- Weighted survey estimates, overall and by each categorical question as a breakdown.
-- Shares and means use the design weights; the standard error uses Kish's effective sample
-- size n_eff = (Σw)² / Σw²: SE = sqrt(p(1−p) / n_eff) for a share, sqrt(var_w / n_eff) for a mean.
-- Only the latest file of each name counts (a corrected file with the same name replaces it).
CREATE OR REPLACE VIEW reporting.survey_estimates AS
WITH latest_file AS (
    SELECT survey_id, file_name, max(file_id) AS file_id
    FROM etl.survey_file
    GROUP BY survey_id, file_name
),
responses AS (
    SELECT r.*, q.type
    FROM dw.fact_survey_response AS r
    JOIN latest_file AS f ON f.file_id = r.file_id
    JOIN dw.dim_question AS q ON q.survey_id = r.survey_id AND q.question_code = r.question_code
),
breakdowns AS (
    SELECT DISTINCT file_id, respondent_id, CAST(NULL AS TEXT) AS breakdown_question,
        CAST(NULL AS TEXT) AS breakdown_category
    FROM responses
    UNION ALL
    SELECT file_id, respondent_id, question_code, category_code
    FROM responses
    WHERE type = 'categorical' AND category_code IS NOT NULL
),
answers AS (
    SELECT r.survey_id, r.question_code, r.type, r.respondent_id, r.answer_no, r.category_code,
        r.numeric_value, r.weight, b.breakdown_question, b.breakdown_category
    FROM responses AS r
    JOIN breakdowns AS b ON b.file_id = r.file_id AND b.respondent_id = r.respondent_id
    WHERE (b.breakdown_question IS NULL OR b.breakdown_question <> r.question_code)
        AND ((r.type IN ('categorical', 'multi_select') AND r.category_code IS NOT NULL)
            OR (r.type = 'numeric' AND r.numeric_value IS NOT NULL))
),
bases AS (
    SELECT survey_id, question_code, breakdown_question, breakdown_category,
        sum(weight) AS sum_w, sum(weight * weight) AS sum_w2, count(*) AS respondents,
        sum(weight * numeric_value) / sum(weight) AS weighted_mean
    FROM answers
    WHERE answer_no = 1
    GROUP BY survey_id, question_code, breakdown_question, breakdown_category
),
shares AS (
    SELECT a.survey_id, a.question_code, a.breakdown_question, a.breakdown_category, a.category_code,
        sum(a.weight) / b.sum_w AS p, count(*) AS unweighted_n, b.sum_w * b.sum_w / b.sum_w2 AS n_eff
    FROM answers AS a
    JOIN bases AS b ON b.survey_id = a.survey_id AND b.question_code = a.question_code
        AND b.breakdown_question IS NOT DISTINCT FROM a.breakdown_question
        AND b.breakdown_category IS NOT DISTINCT FROM a.breakdown_category
    WHERE a.type IN ('categorical', 'multi_select')
    GROUP BY a.survey_id, a.question_code, a.breakdown_question, a.breakdown_category, a.category_code,
        b.sum_w, b.sum_w2
),
means AS (
    SELECT a.survey_id, a.question_code, a.breakdown_question, a.breakdown_category,
        b.weighted_mean,
        sum(a.weight * (a.numeric_value - b.weighted_mean) * (a.numeric_value - b.weighted_mean)) / b.sum_w
            AS weighted_variance,
        count(*) AS unweighted_n, b.sum_w * b.sum_w / b.sum_w2 AS n_eff
    FROM answers AS a
    JOIN bases AS b ON b.survey_id = a.survey_id AND b.question_code = a.question_code
        AND b.breakdown_question IS NOT DISTINCT FROM a.breakdown_question
        AND b.breakdown_category IS NOT DISTINCT FROM a.breakdown_category
    WHERE a.type = 'numeric'
    GROUP BY a.survey_id, a.question_code, a.breakdown_question, a.breakdown_category, b.weighted_mean,
        b.sum_w, b.sum_w2
),
estimates AS (
    SELECT survey_id, question_code, category_code, 'share_pct' AS estimate_type, 100 * p AS estimate,
        100 * sqrt(p * (1 - p) / n_eff) AS standard_error, unweighted_n, n_eff AS effective_n,
        breakdown_question, breakdown_category
    FROM shares
    UNION ALL
    SELECT survey_id, question_code, CAST(NULL AS TEXT) AS category_code, 'mean' AS estimate_type,
        weighted_mean AS estimate, sqrt(weighted_variance / n_eff) AS standard_error, unweighted_n,
        n_eff AS effective_n, breakdown_question, breakdown_category
    FROM means
)
-- A cell of fewer than {survey_min_cell} answers (DIASPORA_SURVEY_MIN_CELL, baked in by `diaspora
-- migrate`) can reveal what a few respondents answered: its figures are suppressed.
-- The survey's title and data note travel with each estimate (readers of the published copy of the
-- reporting layer have no dw table to join).
SELECT e.survey_id, e.question_code, e.category_code, e.estimate_type,
    CASE WHEN e.unweighted_n < {survey_min_cell} THEN NULL ELSE e.estimate END AS estimate,
    CASE WHEN e.unweighted_n < {survey_min_cell} THEN NULL ELSE e.standard_error END AS standard_error,
    e.unweighted_n,
    CASE WHEN e.unweighted_n < {survey_min_cell} THEN NULL ELSE e.effective_n END AS effective_n,
    e.breakdown_question, e.breakdown_category,
    e.unweighted_n < {survey_min_cell} AS suppressed,
    s.title AS survey_title, s.data_note AS survey_data_note
FROM estimates AS e
JOIN dw.dim_survey AS s ON s.survey_id = e.survey_id;
