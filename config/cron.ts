/**
 * AWS cron expressions, checked as the service that runs them reads them, so a schedule AWS would
 * refuse at deploy time (or one that can never fire) is refused at config time with the field and
 * the reason. Both services take `cron(minutes hours day-of-month month day-of-week year)` with the
 * same fields and values; they differ in day-of-week's wildcards:
 *
 * - Glue triggers and crawlers ("Time-based schedules for jobs and crawlers"): `, - * ? / L`.
 * - EventBridge scheduled rules ("Cron expressions reference"): `, - * ? L #`, and a `#` is the
 *   whole field.
 *
 * In both, exactly one of day-of-month and day-of-week is `?`: a value or `*` in one needs `?` in
 * the other. Not checked: a range written backwards (`22-2`, which the documentation neither allows
 * nor forbids) and Glue's "minimum precision of 5 minutes" for schedules that fire more often.
 */

export type CronService = "glue" | "eventbridge";

/** What runs a schedule, for messages. */
const serviceNames: Record<CronService, string> = { glue: "Glue", eventbridge: "EventBridge" };

interface CronField {
    readonly name: string;
    readonly min: number;
    readonly max: number;
    /** Names that stand for values 1, 2, ... (JAN-DEC, SUN-SAT). */
    readonly names?: readonly string[];
}

const months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const weekdays = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

const minutes: CronField = { name: "minutes", min: 0, max: 59 };
const hours: CronField = { name: "hours", min: 0, max: 23 };
const dayOfMonth: CronField = { name: "day-of-month", min: 1, max: 31 };
const month: CronField = { name: "month", min: 1, max: 12, names: months };
const dayOfWeek: CronField = { name: "day-of-week", min: 1, max: 7, names: weekdays };
const year: CronField = { name: "year", min: 1970, max: 2199 };

/** The shape every schedule has; a text without it is not a schedule at all. */
const cronShape = /^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$/;

/** Why `expression` is not a schedule `service` runs: one reason per wrong field, or none. */
function cronProblems(expression: string, service: CronService): string[] {
    const match = cronShape.exec(expression);
    if (!match) {
        return ["expected cron(minutes hours day-of-month month day-of-week year)"];
    }
    const parts = match.slice(1) as [string, string, string, string, string, string];
    const [, , days, , weekday] = parts;
    const problems = [
        ...checkList(parts[0], minutes),
        ...checkList(parts[1], hours),
        ...checkDays(days),
        ...checkList(parts[3], month),
        ...checkWeekdays(weekday, service),
        ...checkList(parts[5], year),
    ];
    if (days === "?" && weekday === "?") {
        problems.push("day-of-month and day-of-week are both ?; set one of them (* in day-of-month for every day)");
    } else if (days !== "?" && weekday !== "?") {
        problems.push(
            `day-of-month "${days}" and day-of-week "${weekday}" are both set; ${serviceNames[service]} takes one of them, with ? in the other`,
        );
    }
    return problems;
}

/** Day-of-month: values, ranges, lists and increments, or `?`, `L` (the last day), `LW` and `<day>W` (the nearest weekday). */
function checkDays(text: string): string[] {
    if (text === "?") {
        return [];
    }
    return text.split(",").flatMap((item) => {
        if (item === "L" || item === "LW") {
            return [];
        }
        const weekday = /^(\d+)W$/.exec(item);
        return weekday ? checkValue(weekday[1]!, dayOfMonth, item) : checkItem(item, dayOfMonth);
    });
}

/** Day-of-week: values (1-7 or SUN-SAT), ranges, lists, or `?`, `L` and `<day>L` (the last of the month); `#` for EventBridge, `/` for Glue. */
function checkWeekdays(text: string, service: CronService): string[] {
    if (text === "?") {
        return [];
    }
    const nth = /^([^#]+)#(.*)$/.exec(text);
    if (nth) {
        if (service !== "eventbridge") {
            return [`day-of-week "${text}": ${serviceNames[service]} schedules take no # (the nth weekday of a month)`];
        }
        if (text.includes(",")) {
            return [`day-of-week "${text}": a # must be the whole field, one weekday and its number in the month`];
        }
        const problems = checkValue(nth[1]!, dayOfWeek, text);
        if (!/^[1-5]$/.test(nth[2]!)) {
            problems.push(`day-of-week "${text}": the number after # is which one in the month, 1-5`);
        }
        return problems;
    }
    return text.split(",").flatMap((item) => {
        if (item === "L") {
            return [];
        }
        const last = /^(.+)L$/i.exec(item);
        if (last && !/^[A-Z]{3}$/i.test(item)) {
            return checkValue(last[1]!, dayOfWeek, item);
        }
        if (item.includes("/") && service !== "glue") {
            return [`day-of-week "${item}": ${serviceNames[service]} schedules take no / in day-of-week`];
        }
        return checkItem(item, dayOfWeek);
    });
}

function checkList(text: string, field: CronField): string[] {
    return text.split(",").flatMap((item) => checkItem(item, field));
}

/** One item of a list: `*`, a value, a range `a-b`, or either with an increment `/n`. */
function checkItem(item: string, field: CronField): string[] {
    const increment = /^([^/]+)\/(.*)$/.exec(item);
    const base = increment ? increment[1]! : item;
    const steps = field.max - field.min + 1;
    const problems: string[] = [];
    if (increment && !(/^\d+$/.test(increment[2]!) && Number(increment[2]) >= 1 && Number(increment[2]) <= steps)) {
        problems.push(`${field.name} "${item}": the increment after / must be 1 to ${steps}`);
    }
    if (base === "*") {
        return problems;
    }
    const range = /^([^-]+)-(.+)$/.exec(base);
    const values = range ? [range[1]!, range[2]!] : [base];
    return [...problems, ...values.flatMap((value) => checkValue(value, field, item))];
}

/** A single value of `field`: a number in its range, or one of its names. */
function checkValue(text: string, field: CronField, item: string): string[] {
    if (field.names?.includes(text.toUpperCase())) {
        return [];
    }
    const described = `${field.min}-${field.max}${field.names ? ` or ${field.names[0]}-${field.names[field.names.length - 1]}` : ""}`;
    if (!/^\d+$/.test(text)) {
        return [`${field.name} "${item}": "${text}" is not a value (${described})`];
    }
    const value = Number(text);
    if (value < field.min || value > field.max) {
        return [`${field.name} ${text}${item !== text ? ` (in "${item}")` : ""} is outside ${described}`];
    }
    return [];
}

/** Why `schedule` is not one `service` runs, as one message naming it; undefined when it is. */
export function cronProblem(schedule: string, service: CronService): string | undefined {
    if (!cronShape.test(schedule)) {
        return `"${schedule}" is not a schedule; expected cron(minutes hours day-of-month month day-of-week year)`;
    }
    const problems = cronProblems(schedule, service);
    return problems.length === 0 ? undefined : `"${schedule}" is not a schedule ${serviceNames[service]} runs: ${problems.join("; ")}`;
}
