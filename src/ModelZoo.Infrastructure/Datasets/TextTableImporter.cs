using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelZoo.Core.Datasets;

namespace ModelZoo.Infrastructure.Datasets;

/// <summary>An upload received into a temp file in the datasets folder; disposing deletes it.</summary>
public sealed class ReceivedUpload(string path, string fileName, long size, string sha256) : IDisposable
{
    public string Path { get; } = path;
    public string FileName { get; } = fileName;
    public long Size { get; } = size;
    public string Sha256 { get; } = sha256;
    public void Dispose() { try { File.Delete(Path); } catch (IOException) { } }
}

/// <summary>What the inspect step shows: the columns, the first rows, and the columns that look like text and label.</summary>
public sealed record TextTablePreview(
    string FileName, long Size, string Sha256, string Delimiter, IReadOnlyList<string> Columns,
    IReadOnlyList<IReadOnlyList<string>> Preview, int Rows, string? SuggestedTextColumn, string? SuggestedLabelColumn);

/// <summary>
/// Imports a CSV or TSV table with a header as a text dataset, in two steps: <see cref="Inspect"/> reads the header
/// and the first rows so the user can pick the text and label columns, then <see cref="ImportAsync(ReceivedUpload,string,string,UploadDetails,CancellationToken)"/>
/// checks every row and stores the dataset. A refusal lists each problem with its row (and line, when quoted fields
/// span lines) and keeps nothing. Rules: the file is strict UTF-8; every row has as many fields as the header;
/// text and label are present; texts are at most <c>MaxTextChars</c>; a text is kept once (a repeated text could
/// land in training and test at once, and a repeat with another label contradicts itself): under
/// <see cref="DuplicatePolicy.Drop"/> a repeated row (same text, same label) is dropped and the first kept, and a
/// text filed under two labels is dropped in every row, each listed in the facts; under Refuse each repeat is a
/// problem; each class has at least <c>MinExamplesPerClass</c> rows and there are at least 2 classes.
/// </summary>
public sealed class TextTableImporter(DatasetStore store, IOptions<TextUploadOptions> options, IEnumerable<BuiltInDataset> builtIns,
    ILogger<TextTableImporter> log)
{
    readonly SemaphoreSlim _gate = new(1, 1);
    public TextUploadOptions Options => options.Value;

    /// <summary>Receives the upload into a temp file, refusing it as soon as it passes the size limit.</summary>
    public async Task<ReceivedUpload> ReceiveAsync(Stream upload, string fileName, long? declaredLength, IProgress<double>? progress, CancellationToken ct)
    {
        var o = options.Value;
        fileName = System.IO.Path.GetFileName(fileName.Replace('\\', '/'));
        if (fileName.Length == 0) fileName = "upload.csv";
        if (declaredLength > o.MaxUploadBytes) throw TooLarge(fileName, declaredLength.Value, o);
        var tmp = store.TempPath("text-upload");
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(tmp)!);
        try
        {
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long total = 0;
            await using (var file = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                var buf = new byte[1 << 16];
                int n;
                while ((n = await upload.ReadAsync(buf, ct)) > 0)
                {
                    total += n;
                    if (total > o.MaxUploadBytes) throw TooLarge(fileName, total, o);
                    sha.AppendData(buf, 0, n);
                    await file.WriteAsync(buf.AsMemory(0, n), ct);
                    if (declaredLength is > 0) progress?.Report(Math.Min(1, (double)total / declaredLength.Value));
                }
            }
            progress?.Report(1);
            return new ReceivedUpload(tmp, fileName, total, Convert.ToHexStringLower(sha.GetHashAndReset()));
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { }
            throw;
        }
    }

    static DatasetRejectedException TooLarge(string file, long size, TextUploadOptions o) =>
        new(file, $"is {ImageFolderZip.Mb(size)}, over the upload limit of {ImageFolderZip.Mb(o.MaxUploadBytes)} (Datasets:TextUpload:MaxUploadBytes)");

    /// <summary>A parsed table: column names and the data rows, each with its row and line.</summary>
    sealed record Table(char Delimiter, IReadOnlyList<string> Columns, List<DelimitedRecord> Rows);

    /// <summary>Checks the file as a whole (encoding, quoting, header, field counts, row limit).</summary>
    Table Parse(ReceivedUpload upload)
    {
        var o = options.Value;
        var text = DelimitedText.DecodeUtf8(File.ReadAllBytes(upload.Path), upload.FileName);
        var delimiter = DelimitedText.DelimiterFor(upload.FileName, text);
        var problems = new List<UploadProblem>();
        string[]? header = null;
        var rows = new List<DelimitedRecord>();
        try
        {
            foreach (var r in DelimitedText.Read(text, delimiter))
            {
                if (header is null) { header = r.Fields; continue; }
                if (rows.Count >= o.MaxRows)
                    throw new DatasetRejectedException(upload.FileName, $"has more than {o.MaxRows:N0} rows, the limit (Datasets:TextUpload:MaxRows)");
                if (r.Fields.Length != header.Length)
                {
                    problems.Add(new(Where(upload, r), $"has {r.Fields.Length} field{(r.Fields.Length == 1 ? "" : "s")}; the header has {header.Length} (ragged row{(delimiter == ',' ? "; a text with commas must be in double quotes" : "")})"));
                    continue;
                }
                rows.Add(r);
            }
        }
        catch (DelimitedFormatException e)
        {
            problems.Add(new(upload.FileName, e.Message));
        }
        if (header is null) throw new DatasetRejectedException(upload.FileName, "is empty; expected a header row naming the columns, then one row per example");
        var columns = header.Select((h, k) => h.Trim().Length == 0 ? $"column {k + 1}" : h.Trim()).ToList();
        if (columns.Count < 2)
            problems.Insert(0, new(upload.FileName, $"has one column ('{columns[0]}'); it needs a text column and a label column, separated by {(delimiter == '\t' ? "tabs" : "commas")}"));
        foreach (var dup in columns.GroupBy(c => c, StringComparer.Ordinal).Where(g => g.Count() > 1))
            problems.Insert(0, new(upload.FileName, $"the header names the column '{dup.Key}' {dup.Count()} times; column names must be unique"));
        if (problems.Count > 0) throw new DatasetRejectedException(problems);
        if (rows.Count == 0) throw new DatasetRejectedException(upload.FileName, "has a header but no rows");
        return new Table(delimiter, columns, rows);
    }

    static string Where(ReceivedUpload u, DelimitedRecord r) => $"{u.FileName} {r.Where}";

    /// <summary>The dropped rows, in file order: each repeat of a text under the same label (its first row kept),
    /// and every row of a text filed under more than one label.</summary>
    static UploadCleaning DropDuplicates(ReceivedUpload upload, Dictionary<string, List<(DelimitedRecord Row, string Label)>> rowsOfText,
        HashSet<string> conflicting, DuplicatePolicy policy)
    {
        var dropped = new List<(DelimitedRecord Row, DroppedExample Example)>();
        int exact = 0, conflictRows = 0;
        foreach (var (text, rows) in rowsOfText)
        {
            if (rows.Count == 1) continue;
            if (conflicting.Contains(text))
            {
                conflictRows += rows.Count;
                var labels = rows.Select(x => x.Label).Distinct(StringComparer.Ordinal).Select(l => $"'{l}'");
                var reason = $"the same text is labelled {string.Join(", ", labels)} in {string.Join(", ", rows.Select(x => x.Row.Where))}; all {rows.Count} rows dropped (conflicting labels)";
                dropped.AddRange(rows.Select(x => (x.Row, new DroppedExample(Where(upload, x.Row), reason))));
                continue;
            }
            exact += rows.Count - 1;
            dropped.AddRange(rows.Skip(1).Select(x => (x.Row, new DroppedExample(Where(upload, x.Row), "repeats the text and label of an earlier row (duplicate row)", Where(upload, rows[0].Row)))));
        }
        return new UploadCleaning(policy, exact, conflicting.Count, conflictRows, dropped.OrderBy(d => d.Row.Row).Select(d => d.Example).ToList());
    }

    public TextTablePreview Inspect(ReceivedUpload upload)
    {
        var t = Parse(upload);
        var o = options.Value;
        var (text, label) = Suggest(t);
        return new TextTablePreview(upload.FileName, upload.Size, upload.Sha256, t.Delimiter == '\t' ? "tab" : "comma", t.Columns,
            t.Rows.Take(o.PreviewRows).Select(r => (IReadOnlyList<string>)r.Fields.Select(f => f.Length > 300 ? f[..300] + "…" : f).ToList()).ToList(),
            t.Rows.Count, text, label);
    }

    /// <summary>Text: the column with the longest texts on average; label: of the others, the one with the fewest
    /// distinct values (at least 2). Only a default for the picker.</summary>
    static (string? Text, string? Label) Suggest(Table t)
    {
        var sample = t.Rows.Take(1000).ToList();
        int text = Enumerable.Range(0, t.Columns.Count).MaxBy(k => sample.Average(r => (double)r.Fields[k].Length));
        var label = Enumerable.Range(0, t.Columns.Count).Where(k => k != text)
            .Select(k => (k, distinct: sample.Select(r => r.Fields[k].Trim()).Distinct().Count()))
            .Where(x => x.distinct >= 2).OrderBy(x => x.distinct).Select(x => (int?)x.k).FirstOrDefault();
        return (t.Columns[text], label is { } l ? t.Columns[l] : null);
    }

    /// <summary>Receives, inspects and deletes the upload (the API's first step; the UI keeps the upload instead).</summary>
    public async Task<TextTablePreview> InspectAsync(Stream upload, string fileName, long? declaredLength, CancellationToken ct)
    {
        using var received = await ReceiveAsync(upload, fileName, declaredLength, null, ct);
        return Inspect(received);
    }

    public async Task<DatasetInfo> ImportAsync(Stream upload, string fileName, long? declaredLength, string textColumn, string labelColumn,
        UploadDetails details, CancellationToken ct)
    {
        CheckName(details);
        using var received = await ReceiveAsync(upload, fileName, declaredLength, null, ct);
        return await ImportAsync(received, textColumn, labelColumn, details, ct);
    }

    string CheckName(UploadDetails details)
    {
        var id = ImageFolderImporter.IdFor(details.Name);
        if (id.Length == 0) throw new DatasetRejectedException("", "Give the dataset a name with letters or digits.");
        if (store.Exists(id) || builtIns.Any(b => b.Id == id))
            throw new DatasetRejectedException("", $"A dataset with the id '{id}' exists already; choose another name.");
        return id;
    }

    public async Task<DatasetInfo> ImportAsync(ReceivedUpload upload, string textColumn, string labelColumn, UploadDetails details, CancellationToken ct)
    {
        CheckName(details);
        await _gate.WaitAsync(ct);
        try
        {
            var id = CheckName(details);
            var info = await Task.Run(() => Build(upload, textColumn, labelColumn, id, details, ct), ct);
            log.LogInformation("Imported text dataset {Id} from {File}: {Examples} rows, {Classes} classes", id, upload.FileName, info.Examples, info.ClassNames.Count);
            return info;
        }
        finally { _gate.Release(); }
    }

    DatasetInfo Build(ReceivedUpload upload, string textColumn, string labelColumn, string id, UploadDetails details, CancellationToken ct)
    {
        var o = options.Value;
        var t = Parse(upload);
        int ColumnIndex(string name, string role)
        {
            int k = t.Columns.ToList().IndexOf(name);
            return k >= 0 ? k : throw new DatasetRejectedException(upload.FileName,
                $"has no column '{name}' for the {role}; its columns are {string.Join(", ", t.Columns.Select(c => $"'{c}'"))}");
        }
        int tk = ColumnIndex(textColumn, "text"), lk = ColumnIndex(labelColumn, "label");
        if (tk == lk) throw new DatasetRejectedException(upload.FileName, $"the text and the label must be different columns ('{textColumn}' was chosen for both)");

        var problems = new List<UploadProblem>();
        // Every row's problem is listed (no cap): the uploader fixes the table once, not twenty rows at a time.
        void Problem(DelimitedRecord r, string reason) => problems.Add(new(Where(upload, r), reason));
        var firstRowOf = new Dictionary<string, (DelimitedRecord Row, string Label)>(StringComparer.Ordinal);
        // Under Drop: the rows of each text, in order, and the texts seen under more than one label.
        var rowsOfText = new Dictionary<string, List<(DelimitedRecord Row, string Label)>>(StringComparer.Ordinal);
        var conflicting = new HashSet<string>(StringComparer.Ordinal);
        var valid = new List<(DelimitedRecord Row, string Text, string Label)>(t.Rows.Count);
        foreach (var r in t.Rows)
        {
            ct.ThrowIfCancellationRequested();
            var text = r.Fields[tk];
            var label = r.Fields[lk].Trim();
            bool ok = true;
            if (text.Trim().Length == 0) { Problem(r, $"has no text (column '{textColumn}' is empty)"); ok = false; }
            else if (text.Length > o.MaxTextChars) { Problem(r, $"has a text of {text.Length:N0} characters, over the limit of {o.MaxTextChars:N0} (Datasets:TextUpload:MaxTextChars)"); ok = false; }
            if (label.Length == 0) { Problem(r, $"has no label (column '{labelColumn}' is empty)"); ok = false; }
            if (!ok) continue;
            if (firstRowOf.TryGetValue(text, out var first))
            {
                if (details.Duplicates == DuplicatePolicy.Refuse)
                {
                    Problem(r, first.Label == label
                        ? $"repeats the text of {first.Row.Where} (duplicate row; a repeated text could land in training and test at once)"
                        : $"repeats the text of {first.Row.Where} with the label '{label}' instead of '{first.Label}' (conflicting labels)");
                    continue;
                }
                if (first.Label != label) conflicting.Add(text);
                rowsOfText[text].Add((r, label));
                continue;
            }
            firstRowOf[text] = (r, label);
            rowsOfText[text] = [(r, label)];
            valid.Add((r, text, label));
        }
        var cleaning = DropDuplicates(upload, rowsOfText, conflicting, details.Duplicates);
        var texts = new List<string>(valid.Count);
        var labelNames = new List<string>(valid.Count);
        var rowsOfLabel = new Dictionary<string, List<DelimitedRecord>>(StringComparer.Ordinal);
        foreach (var (r, text, label) in valid)
        {
            if (conflicting.Contains(text)) continue;
            texts.Add(text);
            labelNames.Add(label);
            (rowsOfLabel.TryGetValue(label, out var list) ? list : rowsOfLabel[label] = []).Add(r);
        }
        string AfterDropping() => cleaning.TotalDropped == 0 ? "" : $" after {cleaning.TotalDropped} duplicate or conflicting row{(cleaning.TotalDropped == 1 ? " was" : "s were")} dropped";
        // Class checks only make sense on rows that were otherwise fine; they are listed with the row problems.
        var classes = rowsOfLabel.Keys.Order(StringComparer.Ordinal).ToList();
        foreach (var c in classes)
        {
            var rows = rowsOfLabel[c];
            if (rows.Count < o.MinExamplesPerClass)
                problems.Add(new(upload.FileName, $"class '{c}' has {rows.Count} row{(rows.Count == 1 ? "" : "s")}{AfterDropping()}: {string.Join(", ", rows.Take(3).Select(r => r.Where))}; each class needs at least {o.MinExamplesPerClass} (Datasets:TextUpload:MinExamplesPerClass)"));
        }
        if (classes.Count < 2 && problems.Count == 0)
            problems.Add(new(upload.FileName, classes.Count == 0 ? $"has no labelled rows{AfterDropping()}" : $"has one class ('{classes[0]}') in column '{labelColumn}'{AfterDropping()}; a classifier needs at least 2"));
        if (classes.Count > o.MaxClasses)
            problems.Add(new(upload.FileName, $"has {classes.Count} classes in column '{labelColumn}', over the limit of {o.MaxClasses} (Datasets:TextUpload:MaxClasses); is it the label column?"));
        if (problems.Count > 0) throw new DatasetRejectedException(problems);

        var classIndex = classes.Select((c, k) => (c, k)).ToDictionary(x => x.c, x => x.k, StringComparer.Ordinal);
        var labels = labelNames.Select(l => classIndex[l]).ToArray();
        var split = StratifiedSplitter.Split(labels, o.SplitSeed, o.ValidationFraction, o.TestFraction);
        var info = new DatasetInfo
        {
            Id = id,
            Title = details.Name.Trim(),
            Description = string.IsNullOrWhiteSpace(details.Description)
                ? $"Uploaded table {upload.FileName}: {texts.Count:N0} texts (column '{textColumn}') in {classes.Count} classes (column '{labelColumn}')."
                : details.Description.Trim(),
            ClassNames = classes,
            License = string.IsNullOrWhiteSpace(details.License) ? "Not stated by the uploader" : details.License.Trim(),
            Provenance = $"Uploaded {upload.FileName} ({ImageFolderZip.Mb(upload.Size)}) sha256 {upload.Sha256}; "
                + $"{(t.Delimiter == '\t' ? "tab" : "comma")}-separated, text column '{textColumn}', label column '{labelColumn}'"
                + (cleaning.TotalDropped > 0 ? $"; {cleaning.Summary("rows")}" : ""),
            Origin = DatasetOrigin.Upload,
            Source = new DatasetSource("upload", upload.FileName, "", upload.FileName, upload.Sha256, DateTimeOffset.UtcNow),
            Splits = new SplitSizes(split.Train.Length, split.Validation.Length, split.Test.Length),
            SplitSeed = o.SplitSeed,
            SplitMethod = $"Stratified by class, {1 - o.ValidationFraction - o.TestFraction:P0} train, {o.ValidationFraction:P0} validation, {o.TestFraction:P0} test, seed {o.SplitSeed}.",
            Cleaning = cleaning,
        };
        ct.ThrowIfCancellationRequested();
        try { return store.Write(info, new TextSet { Texts = texts, Labels = labels, ClassNames = classes }, split, replaceExisting: false); }
        catch (DatasetExistsException) { throw new DatasetRejectedException("", $"A dataset with the id '{id}' exists already; choose another name."); }
    }
}
