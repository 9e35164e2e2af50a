using System.Globalization;
using System.Text;

namespace ModelZoo.Core.Runs.Compare;

/// <summary>The comparison table as CSV (RFC 4180) and as a Markdown table: the same columns, in the same order.</summary>
public static class ComparisonExport
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Column headers (snake case, as data tools like them) and each row's cells, raw (not escaped).</summary>
    public static (IReadOnlyList<string> Headers, IReadOnlyList<IReadOnlyList<string>> Cells) Table(RunComparison c)
    {
        var headers = new List<string>
        {
            "run_id", "name", "model", "dataset", "strategy", "status", "seed", "labels_per_class", "frozen_stages",
            "trainable_params", "total_params", "wall_seconds", "test_acc",
        };
        // Only with a run of several tasks, so other comparisons keep their columns: "dataset=accuracy" per task.
        if (c.HasTasks) headers.Add("task_test_acc");
        // Student against teacher, each measured by the distillation run itself (same test split, same latency loop).
        if (c.HasTeacher)
            headers.AddRange(["teacher_run_id", "teacher_model", "teacher_test_acc", "teacher_params", "teacher_weights_bytes",
                "student_tensor_bytes", "teacher_latency_ms", "student_latency_ms", "teacher_agreement"]);
        foreach (var m in c.Metrics) headers.AddRange([$"{m}_best", $"{m}_best_epoch", $"{m}_last"]);
        var cells = c.Rows.Select(r =>
        {
            var row = new List<string>
            {
                r.Id.ToString(), r.Name, r.ModelId, r.DatasetId, r.Strategy, r.Status.ToString(), r.Seed.ToString(Inv),
                Int(r.LabelsPerClass), r.FrozenStages ?? "", Long(r.TrainableParameters), Long(r.TotalParameters),
                Num(r.WallSeconds, "0.###"), Num(r.TestAccuracy),
            };
            if (c.HasTasks) row.Add(string.Join(";", r.Tasks.Select(t => $"{t.DatasetId}={Num(t.TestAccuracy)}")));
            if (c.HasTeacher)
                row.AddRange(r.Teacher is { } t
                    ? [t.TeacherRunId.ToString(), t.TeacherModelId, Num(t.TeacherTestAccuracy), Long(t.TeacherParameters), Long(t.TeacherWeightsBytes),
                       Long(t.StudentTensorBytes), Num(t.TeacherLatencyMs, "0.###"), Num(t.StudentLatencyMs, "0.###"), Num(t.Agreement)]
                    : Enumerable.Repeat("", 9));
            foreach (var m in c.Metrics)
            {
                var s = r.Metric(m);
                row.AddRange([Num(s.Best), Int(s.BestEpoch), Num(s.Last)]);
            }
            return (IReadOnlyList<string>)row;
        }).ToList();
        return (headers, cells);
    }

    public static string Csv(RunComparison c)
    {
        var (headers, cells) = Table(c);
        var sb = new StringBuilder();
        sb.Append(string.Join(',', headers.Select(CsvCell))).Append("\r\n");
        foreach (var row in cells) sb.Append(string.Join(',', row.Select(CsvCell))).Append("\r\n");
        return sb.ToString();
    }

    public static string Markdown(RunComparison c)
    {
        var (headers, cells) = Table(c);
        var sb = new StringBuilder();
        sb.Append("| ").Append(string.Join(" | ", headers.Select(MarkdownCell))).Append(" |\n");
        sb.Append('|').Append(string.Concat(headers.Select(_ => " --- |"))).Append('\n');
        foreach (var row in cells) sb.Append("| ").Append(string.Join(" | ", row.Select(MarkdownCell))).Append(" |\n");
        return sb.ToString();
    }

    /// <summary>Quoted when it holds a comma, quote or line break (quotes doubled). A text cell that a spreadsheet
    /// would run as a formula (=, +, -, @ first; run names are typed by users) gets a leading apostrophe; numbers
    /// are written by this class and never start that way except for a minus sign, which stays.</summary>
    public static string CsvCell(string cell)
    {
        if (cell.Length > 0 && cell[0] is '=' or '+' or '-' or '@' or '\t' or '\r' && !double.TryParse(cell, NumberStyles.Float, Inv, out _))
            cell = "'" + cell;
        return cell.IndexOfAny([',', '"', '\r', '\n']) >= 0 ? "\"" + cell.Replace("\"", "\"\"") + "\"" : cell;
    }

    /// <summary>Pipes and backslashes escaped, line breaks made spaces, so a cell cannot end its row or table.</summary>
    public static string MarkdownCell(string cell) =>
        cell.Replace("\\", "\\\\").Replace("|", "\\|").Replace("\r\n", " ").Replace('\n', ' ').Replace('\r', ' ');

    static string Num(double? v, string format = "0.######") => v is { } d && double.IsFinite(d) ? d.ToString(format, Inv) : "";
    static string Int(int? v) => v?.ToString(Inv) ?? "";
    static string Long(long? v) => v?.ToString(Inv) ?? "";
}
