-- mart.emigrants_in_group: emigrants living in each country group, counting its members on 1 July
-- of the year (dw.bridge_country_group, synced from reference/ by `diaspora migrate`).
SELECT
    e.origin_code,
    e.origin_name,
    g.group_code,
    e.year,
    e.sex,
    sum(e.migrants) AS migrants,
    max(e.origin_total) AS origin_total,
    100 * sum(e.migrants) / NULLIF(max(e.origin_total), 0) AS share_of_origin_total_pct,
    count(e.migrants) AS member_destinations_with_data,
    max(e.release_label) AS release_label
FROM mart.emigrants_by_destination AS e
JOIN dw.bridge_country_group AS g
    ON g.country_code = e.destination_code
    AND g.valid_from <= make_date(e.year, 7, 1)
    AND (g.valid_to IS NULL OR g.valid_to >= make_date(e.year, 7, 1))
WHERE e.destination_area_type = 'country'
GROUP BY e.origin_code, e.origin_name, g.group_code, e.year, e.sex
ORDER BY e.origin_code, e.year, g.group_code, e.sex
