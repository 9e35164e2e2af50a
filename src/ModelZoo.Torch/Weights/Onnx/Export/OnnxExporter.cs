using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using ModelZoo.Core.Catalog;
using ModelZoo.Torch.Models;
using Onnx;

namespace ModelZoo.Torch.Weights.Onnx.Export;

/// <summary>What an export records beside the graph.</summary>
/// <param name="InputSize">Side of the square image input (fixed; the batch is symbolic). Ignored for text models.</param>
/// <param name="Labels">Class names in output order; written as <c>labels</c> (a JSON array) when given.</param>
/// <param name="Preprocessing">An image model's preprocessing (mean, std, channel order, scale, resize); written as metadata.</param>
/// <param name="Text">A text model's tokenizer facts (vocabulary file, lowercase, longest input); written as metadata.</param>
/// <param name="Metadata">Further metadata_props (run, entry, dataset), written as given.</param>
public sealed record OnnxExportOptions(
    int InputSize = 224,
    IReadOnlyList<string>? Labels = null,
    Preprocessing? Preprocessing = null,
    ModelZoo.Core.Catalog.TextInfo? Text = null,
    IReadOnlyDictionary<string, string>? Metadata = null);

/// <summary>
/// Writes a <see cref="ZooModel"/> as an ONNX model (opset <see cref="Opset"/>) for inference in ONNX Runtime, ML.NET,
/// Triton or a browser: the eval-mode forward of every registered architecture, built from the module's own parameters
/// by walking the structure its architecture file builds (no tracing), with initialisers named by their state_dict keys.
/// Image models take <c>input</c> [batch, 3, H, W] and give <c>logits</c> [batch, classes]; text models take
/// <c>input_ids</c>, <c>attention_mask</c> and <c>token_type_ids</c> (int64 [batch, sequence]) and give <c>logits</c>
/// (a classifier or masked LM) or <c>last_hidden_state</c> and <c>pooler_output</c> (a bare encoder). The batch (and a
/// text model's sequence) is symbolic. Preprocessing, tokenizer facts and labels go into metadata_props, since a
/// deployment needs them and the graph does not compute them.
/// </summary>
public static class OnnxExporter
{
    /// <summary>17: the first opset with LayerNormalization; ONNX Runtime 1.32 runs it with every operator here.</summary>
    public const long Opset = 17;
    /// <summary>The IR version that goes with opset 17 (ONNX 1.12).</summary>
    public const long IrVersion = 8;
    /// <summary>Changes when what the exporter writes changes, so files kept from an earlier version are written again
    /// (<c>RunOnnxExporter</c> keys its kept files by it); recorded as <c>modelzoo.exporter_version</c>.</summary>
    public const int FormatVersion = 1;

    public const string Batch = "batch", Sequence = "sequence";
    public const string ImageInput = "input", LogitsOutput = "logits";
    public const string InputIds = "input_ids", AttentionMask = "attention_mask", TokenTypeIds = "token_type_ids";
    public const string LastHiddenState = "last_hidden_state", PoolerOutput = "pooler_output";

    /// <exception cref="OnnxExportException">The model holds a module or setting the exporter cannot write; the message names it.</exception>
    public static ModelProto Export(ZooModel model, OnnxExportOptions? options = null)
    {
        options ??= new();
        var g = new OnnxGraphBuilder(model.Architecture);
        try
        {
            if (model is Bert bert) new OnnxBertExport(g).Write(bert);
            else new OnnxCnnExport(g).Write(model, options.InputSize);
        }
        catch (OnnxExportException e)
        {
            throw new OnnxExportException($"{model.Architecture} cannot be exported to ONNX: {e.Message}");
        }

        var proto = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "ModelZoo",
            ProducerVersion = typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "",
            Domain = "modelzoo",
            DocString = $"{model.Architecture} exported by ModelZoo from the module's parameters (eval mode).",
            Graph = g.Graph,
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach (var (k, v) in Metadata(model, options))
            proto.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        return proto;
    }

    /// <summary>Exports to <paramref name="path"/> (see <see cref="Write"/>).</summary>
    public static void Save(ZooModel model, string path, OnnxExportOptions? options = null) => Write(Export(model, options), path);

    /// <summary>Writes <paramref name="proto"/> through a temp file renamed into place, so a failed write (or two
    /// writers at once) never leaves a partial file under <paramref name="path"/>.</summary>
    public static void Write(ModelProto proto, string path)
    {
        var tmp = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var fs = File.Create(tmp)) proto.WriteTo(fs);
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    /// <summary>The class count and, for VGG, the adapted head's shape: with <c>modelzoo.config</c> (BERT), the
    /// <see cref="ArchitectureOptions"/> the module was built with.</summary>
    static Dictionary<string, int> BuildOptions(ZooModel model)
    {
        var o = new Dictionary<string, int> { ["num_classes"] = model.NumClasses };
        if (model is Vgg)
        {
            o["head_hidden"] = model.NumFeatures;
            var pool = model.named_children().First(c => c.name == "avgpool").module as TorchSharp.Modules.AdaptiveAvgPool2d;
            if (pool?.output_size is { Length: > 0 } size) o["head_pool_size"] = (int)size[0];
        }
        return o;
    }

    /// <summary>The metadata_props an export writes: architecture, input and output names, labels, and preprocessing
    /// (image) or tokenizer facts (text), each a plain string (lists as JSON arrays) that any ONNX tool shows.</summary>
    public static IReadOnlyList<(string Key, string Value)> Metadata(ZooModel model, OnnxExportOptions options)
    {
        static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        static string Json(object v) => JsonSerializer.Serialize(v);
        var m = new List<(string, string)>
        {
            ("modelzoo.architecture", model.Architecture),
            ("modelzoo.exporter_version", FormatVersion.ToString(CultureInfo.InvariantCulture)),
            // What ArchitectureRegistry.Create needs to rebuild this module (weights parity --reference onnx reads it).
            ("modelzoo.options", Json(BuildOptions(model))),
        };
        if (model is Bert bert)
        {
            var c = bert.Config;
            m.Add(("modality", "text"));
            m.Add(("inputs", $"{InputIds}, {AttentionMask} (1 = token, 0 = padding), {TokenTypeIds}: int64 [batch, sequence]"));
            m.Add(("tokenizer", "wordpiece"));
            m.Add(("vocab_size", c.VocabSize.ToString(CultureInfo.InvariantCulture)));
            m.Add(("max_position_embeddings", c.MaxPositionEmbeddings.ToString(CultureInfo.InvariantCulture)));
            if (c.PadTokenId is { } pad) m.Add(("pad_token_id", pad.ToString(CultureInfo.InvariantCulture)));
            if (options.Text is { } t)
            {
                m.Add(("vocab_file", t.VocabFile));
                m.Add(("lowercase", t.Lowercase ? "true" : "false"));
                if (t.StripAccents is { } strip) m.Add(("strip_accents", strip ? "true" : "false"));
                m.Add(("max_length", t.MaxLength.ToString(CultureInfo.InvariantCulture)));
            }
            m.Add(("modelzoo.config", c.ToJson(model.GetType().Name)));
        }
        else
        {
            m.Add(("modality", "image"));
            m.Add(("inputs", $"{ImageInput}: float32 [batch, 3, {options.InputSize}, {options.InputSize}], NCHW, already preprocessed"));
            m.Add(("input_size", options.InputSize.ToString(CultureInfo.InvariantCulture)));
            if (options.Preprocessing is { } p)
            {
                m.Add(("mean", Json(p.Mean)));
                m.Add(("std", Json(p.Std)));
                m.Add(("channel_order", p.ChannelOrder.ToString().ToUpperInvariant()));
                m.Add(("pixel_scale", F(p.PixelScale)));
                m.Add(("interpolation", p.Interpolation));
                if (p.ResizeSize is { } r && p.InputSize > 0)
                    m.Add(("resize_size", ((int)Math.Round(r * (double)options.InputSize / p.InputSize)).ToString(CultureInfo.InvariantCulture)));
                if (p.MeanImage is { } mi) m.Add(("mean_image", $"{mi.File} (sha256 {mi.Sha256}), subtracted after scaling; not in this file"));
                m.Add(("preprocessing", $"resize the shorter side{(p.ResizeSize is null ? $" to {options.InputSize}" : " to resize_size")} ({p.Interpolation}), " +
                                        $"centre-crop {options.InputSize}, {p.ChannelOrder.ToString().ToUpperInvariant()} channels on a 0-{F(p.PixelScale)} scale" +
                                        (p.MeanImage is null ? "" : ", minus the mean image") + ", minus mean, divided by std, per channel"));
            }
        }
        if (options.Labels is { } labels)
        {
            if (labels.Count != model.NumClasses && model is not BertModel)
                throw new OnnxExportException($"{labels.Count} labels given for a model with {model.NumClasses} outputs.");
            m.Add(("labels", Json(labels)));
        }
        if (options.Metadata is { } extra)
            foreach (var (k, v) in extra) m.Add((k, v));
        return m;
    }
}
