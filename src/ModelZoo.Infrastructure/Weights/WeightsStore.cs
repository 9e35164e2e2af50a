using System.Text.Json;
using ModelZoo.Core.Catalog;
using ModelZoo.Infrastructure.Storage;

namespace ModelZoo.Infrastructure.Weights;

/// <summary>
/// Where imported weights live: <c>&lt;DataDir&gt;/weights/&lt;entry id&gt;/&lt;manifest weights.file&gt;</c>, with the
/// import record beside it. Work in progress goes to <c>&lt;DataDir&gt;/weights/.tmp-*</c>, on the same file system,
/// so finishing an import is a rename and a reader never sees half a file.
/// </summary>
public sealed class WeightsStore(ZooPaths paths, TimeProvider clock)
{
    const string SidecarSuffix = ".import.json";
    const string TempPrefix = ".tmp-";

    static readonly JsonSerializerOptions Json = ModelManifest.Json;

    /// <summary>Where the entry's weights file goes; null when the manifest names none.</summary>
    public string? FilePathOf(ModelManifest m) =>
        m.Weights is { File: var f } && IsPlainFileName(f) && IsPlainFileName(m.Id) ? Path.Combine(paths.WeightsDir, m.Id, f) : null;

    public string? SidecarPathOf(ModelManifest m) => FilePathOf(m) is { } p ? p + SidecarSuffix : null;

    /// <summary>
    /// The completed import of the entry's weights, or null: no record, no file, or a file whose size no longer
    /// matches the record (changed on disk since), which must not be passed off as the imported weights.
    /// </summary>
    public ImportedWeights? Find(ModelManifest m)
    {
        if (FilePathOf(m) is not { } file || !File.Exists(file)) return null;
        var sidecar = file + SidecarSuffix;
        if (!File.Exists(sidecar)) return null;
        try
        {
            var record = JsonSerializer.Deserialize<ImportedWeights>(File.ReadAllText(sidecar), Json);
            if (record is null || record.Sha256.Length != 64 || new FileInfo(file).Length != record.Bytes) return null;
            return record with { Path = file };
        }
        catch (Exception e) when (e is JsonException or IOException) { return null; }
    }

    /// <summary>
    /// Why the entry's completed import can no longer be used, naming the file; null when there is none or it is
    /// intact. An import record whose weights file was deleted or changed size is not "not imported": a run would
    /// silently start from a random initialisation instead of the weights its user imported.
    /// </summary>
    public string? BrokenImportOf(ModelManifest m)
    {
        if (FilePathOf(m) is not { } file || !File.Exists(file + SidecarSuffix)) return null;
        ImportedWeights? record;
        try { record = JsonSerializer.Deserialize<ImportedWeights>(File.ReadAllText(file + SidecarSuffix), Json); }
        catch (Exception e) when (e is JsonException or IOException)
        {
            return $"The import record {file + SidecarSuffix} of '{m.Id}' cannot be read ({e.Message}); import the weights again.";
        }
        if (record is null) return $"The import record {file + SidecarSuffix} of '{m.Id}' is empty; import the weights again.";
        if (!File.Exists(file))
            return $"The imported weights file {file} of '{m.Id}' is missing (imported from {record.OriginalFileName}, {record.Bytes} bytes, " +
                   $"sha256 {record.Sha256}): it was deleted after the import. Import the weights again.";
        var length = new FileInfo(file).Length;
        return length != record.Bytes
            ? $"The imported weights file {file} of '{m.Id}' is {length} bytes, but {record.Bytes} were imported: it was changed after the import. Import the weights again."
            : null;
    }

    /// <summary>A fresh folder for one import's upload, under the weights folder.</summary>
    internal string CreateTempDir()
    {
        RemoveStaleTemps();
        return Directory.CreateDirectory(Path.Combine(paths.WeightsDir, TempPrefix + Guid.NewGuid().ToString("N"))).FullName;
    }

    /// <summary>A path for a temporary file under the weights folder (exports are written there, then streamed).</summary>
    internal string TempFilePath(string suffix) => Path.Combine(paths.WeightsDir, TempPrefix + Guid.NewGuid().ToString("N") + suffix);

    /// <summary>
    /// Moves a validated upload into place and writes its record. Everything that can fail for lack of space (the new
    /// record) is written before the old import is touched; what remains is a delete and two renames within one file
    /// system. The old record goes first, so between those steps the entry reads as not imported rather than as the
    /// old weights with the new file. <paramref name="companions"/> (a text model's vocabulary taken from the same
    /// assembly) move in before the record, under the given plain names beside the weights.
    /// </summary>
    internal ImportedWeights Commit(ModelManifest m, string uploadedFile, ImportedWeights record,
        IReadOnlyList<(string Path, string FileName)>? companions = null)
    {
        companions ??= [];
        if (companions.FirstOrDefault(c => !IsPlainFileName(c.FileName) || c.FileName == m.Weights!.File || c.FileName.EndsWith(SidecarSuffix, StringComparison.Ordinal)) is { FileName: { } bad })
            throw new InvalidOperationException($"'{bad}' cannot be stored beside the weights of '{m.Id}'.");
        var target = FilePathOf(m) ?? throw new InvalidOperationException($"Catalogue entry '{m.Id}' has no usable weights file name.");
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var sidecar = target + SidecarSuffix;
        var tmp = Path.Combine(Path.GetDirectoryName(uploadedFile)!, ".record-" + Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(tmp, JsonSerializer.Serialize(record, Json));
        File.Delete(sidecar);
        File.Move(uploadedFile, target, overwrite: true);
        foreach (var (path, fileName) in companions) File.Move(path, Path.Combine(Path.GetDirectoryName(target)!, fileName), overwrite: true);
        File.Move(tmp, sidecar, overwrite: true);
        return record with { Path = target };
    }

    /// <summary>Temp folders older than a day belong to a process that died mid-import; a live upload is never that old.</summary>
    void RemoveStaleTemps()
    {
        if (!Directory.Exists(paths.WeightsDir)) return;
        var cutoff = clock.GetUtcNow().UtcDateTime.AddDays(-1);
        foreach (var entry in new DirectoryInfo(paths.WeightsDir).EnumerateFileSystemInfos(TempPrefix + "*"))
        {
            if (entry.LastWriteTimeUtc >= cutoff) continue;
            try
            {
                if (entry is DirectoryInfo d) d.Delete(recursive: true); else entry.Delete();
            }
            catch (IOException) { }
        }
    }

    /// <summary>Ids and manifest file names become path segments: refuse anything that could leave the folder.</summary>
    static bool IsPlainFileName(string name) =>
        !string.IsNullOrWhiteSpace(name) && name != "." && name != ".." && Path.GetFileName(name) == name
        && name.IndexOfAny(Path.GetInvalidFileNameChars()) < 0 && !name.Contains('\\');
}
