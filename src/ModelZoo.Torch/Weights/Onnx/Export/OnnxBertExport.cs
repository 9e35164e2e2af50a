// The BERT family as ONNX, written from the modules' own parameters by walking transformers' module tree (the keys of
// Models/Bert.cs): embeddings (word + token type + position, LayerNorm), each layer's attention with the padding mask
// as an additive bias, the erf GELU (or the tanh form or relu, as the config says), LayerNormalization (opset 17), the
// pooler, and the head. Inputs input_ids, attention_mask and token_type_ids are int64 [batch, sequence], both
// symbolic, as in the sentence-transformers files the importer reads.
using ModelZoo.Torch.Models;
using Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static ModelZoo.Torch.Weights.Onnx.Export.OnnxGraphBuilder;

namespace ModelZoo.Torch.Weights.Onnx.Export;

internal sealed class OnnxBertExport(OnnxGraphBuilder g)
{
    const TensorProto.Types.DataType F = TensorProto.Types.DataType.Float;

    public void Write(Bert model)
    {
        var config = model.Config;
        foreach (var name in new[] { OnnxExporter.InputIds, OnnxExporter.AttentionMask, OnnxExporter.TokenTypeIds })
            g.Input(name, TensorProto.Types.DataType.Int64, OnnxExporter.Batch, OnnxExporter.Sequence);

        var (encoder, prefix) = model switch
        {
            BertModel m => ((nn.Module)m, ""),
            _ => (OnnxCnnExport.Child(model, "bert"), "bert."),
        };
        var hidden = Encoder(encoder, prefix, config);
        long h = config.HiddenSize;
        switch (model)
        {
            case BertModel m:
                g.Output(hidden, OnnxExporter.LastHiddenState, F, OnnxExporter.Batch, OnnxExporter.Sequence, h);
                g.Output(Pool(encoder, prefix, hidden, m.HasPooler), OnnxExporter.PoolerOutput, F, OnnxExporter.Batch, h);
                break;
            case BertForSequenceClassification c:
                // Dropout before the classifier is the identity in eval mode.
                var pooled = Pool(encoder, prefix, hidden, pooler: true);
                var cls = (Linear)OnnxCnnExport.Child(c, "classifier");
                var logits = g.Node("Gemm", "classifier", [pooled, g.Weight("classifier.weight", cls.weight), g.Weight("classifier.bias", cls.bias)], Int("transB", 1));
                g.Output(logits, OnnxExporter.LogitsOutput, F, OnnxExporter.Batch, (long)c.NumClasses);
                break;
            case BertForMaskedLM mlm:
                g.Output(MaskedLmHead(mlm, hidden, config), OnnxExporter.LogitsOutput, F, OnnxExporter.Batch, OnnxExporter.Sequence, (long)config.VocabSize);
                break;
            default:
                throw new OnnxExportException($"{model.Architecture}: the ONNX exporter writes BertModel, BertForSequenceClassification and BertForMaskedLM, not {model.GetType().Name}.");
        }
    }

    string Encoder(nn.Module bert, string prefix, BertConfig config)
    {
        var embeddings = OnnxCnnExport.Child(bert, "embeddings");
        var x = Embeddings(embeddings, prefix + "embeddings.");
        var bias = MaskBias();
        var layers = OnnxCnnExport.Child(OnnxCnnExport.Child(bert, "encoder"), "layer");
        foreach (var (i, layer) in layers.named_children())
            x = Layer(layer, $"{prefix}encoder.layer.{i}.", x, bias, config);
        return x;
    }

    /// <summary>(words + token types) + positions 0..L-1, then LayerNorm: transformers' order of the sums.</summary>
    string Embeddings(nn.Module e, string key)
    {
        var words = g.Node("Gather", key + "word_embeddings", [Table(e, "word_embeddings", key), OnnxExporter.InputIds], Int("axis", 0));
        var types = g.Node("Gather", key + "token_type_embeddings", [Table(e, "token_type_embeddings", key), OnnxExporter.TokenTypeIds], Int("axis", 0));
        var length = g.Node("Gather", key + "position_ids", [g.Node("Shape", key + "position_ids", [OnnxExporter.InputIds]), g.ConstScalar(1)], Int("axis", 0));
        var positionIds = g.Node("Range", key + "position_ids", [g.ConstScalar(0), length, g.ConstScalar(1)]);
        var positions = g.Node("Gather", key + "position_embeddings", [Table(e, "position_embeddings", key), positionIds], Int("axis", 0));
        var sum = g.Node("Add", key + "embeddings", [g.Node("Add", key + "embeddings", [words, types]), positions]);
        return LayerNorm(OnnxCnnExport.Child(e, "LayerNorm"), key + "LayerNorm", sum);
    }

    string Table(nn.Module e, string name, string key) =>
        g.Weight($"{key}{name}.weight", ((Embedding)OnnxCnnExport.Child(e, name)).weight);

    /// <summary>(1 - mask) times float32's most negative value, [batch, 1, 1, sequence]: the bias the module adds to the
    /// scores of padded keys (BertModel.Encode), so padding never changes the other positions.</summary>
    string MaskBias()
    {
        var mask = g.Node("Cast", "attention_mask", [OnnxExporter.AttentionMask], Int("to", (long)F));
        var inverted = g.Node("Sub", "attention_mask", [g.ConstFloat(1), mask]);
        var bias = g.Node("Mul", "attention_mask", [inverted, g.ConstFloat(float.MinValue)]);
        return g.Node("Unsqueeze", "attention_mask", [bias, g.ConstInts(1, 2)]);
    }

    string Layer(nn.Module layer, string key, string x, string bias, BertConfig config)
    {
        var attention = OnnxCnnExport.Child(layer, "attention");
        var context = SelfAttention(OnnxCnnExport.Child(attention, "self"), key + "attention.self.", x, bias, config);
        var a = ResidualOutput(OnnxCnnExport.Child(attention, "output"), key + "attention.output.", context, x);
        var intermediate = OnnxCnnExport.Child(layer, "intermediate");
        var i = Activation(config.HiddenAct, key + "intermediate", Linear(OnnxCnnExport.Child(intermediate, "dense"), key + "intermediate.dense", a));
        return ResidualOutput(OnnxCnnExport.Child(layer, "output"), key + "output.", i, a);
    }

    /// <summary>softmax(Q·Kᵀ/√d + bias)·V per head; heads are split by Reshape [0, 0, heads, size] and Transpose.</summary>
    string SelfAttention(nn.Module self, string key, string x, string bias, BertConfig config)
    {
        long heads = config.NumAttentionHeads, size = config.HeadSize;
        var split = g.ConstInts(0, 0, heads, size);
        string Heads(string name, long[] perm) =>
            g.Node("Transpose", key + name, [g.Node("Reshape", key + name, [Linear(OnnxCnnExport.Child(self, name), key + name, x), split])], Ints("perm", perm));
        var q = Heads("query", [0, 2, 1, 3]);
        var kT = Heads("key", [0, 2, 3, 1]);
        var v = Heads("value", [0, 2, 1, 3]);
        var scores = g.Node("Mul", key + "scores", [g.Node("MatMul", key + "scores", [q, kT]), g.ConstFloat((float)(1 / Math.Sqrt(size)))]);
        var probs = g.Node("Softmax", key + "probs", [g.Node("Add", key + "scores", [scores, bias])], Int("axis", -1));
        var context = g.Node("Transpose", key + "context", [g.Node("MatMul", key + "context", [probs, v])], Ints("perm", 0, 2, 1, 3));
        return g.Node("Reshape", key + "context", [context, g.ConstInts(0, 0, heads * size)]);
    }

    /// <summary>BertSelfOutput / BertOutput: LayerNorm(dense(x) + residual); dropout is the identity in eval mode.</summary>
    string ResidualOutput(nn.Module output, string key, string x, string residual)
    {
        var sum = g.Node("Add", key + "residual", [Linear(OnnxCnnExport.Child(output, "dense"), key + "dense", x), residual]);
        return LayerNorm(OnnxCnnExport.Child(output, "LayerNorm"), key + "LayerNorm", sum);
    }

    /// <summary>transformers' pooler_output: tanh(dense(hidden[:, 0])); without a pooler, the [CLS] hidden state.</summary>
    string Pool(nn.Module bert, string prefix, string hidden, bool pooler)
    {
        var first = g.Node("Gather", prefix + "pooler", [hidden, g.ConstScalar(0)], Int("axis", 1));
        if (!pooler) return first;
        var dense = (Linear)OnnxCnnExport.Child(OnnxCnnExport.Child(bert, "pooler"), "dense");
        var y = g.Node("Gemm", prefix + "pooler.dense", [first, g.Weight(prefix + "pooler.dense.weight", dense.weight), g.Weight(prefix + "pooler.dense.bias", dense.bias)], Int("transB", 1));
        return g.Node("Tanh", prefix + "pooler", [y]);
    }

    /// <summary>cls.predictions: dense, activation, LayerNorm, then the decoder tied to the word embeddings (the same
    /// initialiser the input's Gather reads) plus cls.predictions.bias.</summary>
    string MaskedLmHead(BertForMaskedLM mlm, string hidden, BertConfig config)
    {
        var predictions = OnnxCnnExport.Child(OnnxCnnExport.Child(mlm, "cls"), "predictions");
        var transform = OnnxCnnExport.Child(predictions, "transform");
        var t = Activation(config.HiddenAct, "cls.predictions.transform", Linear(OnnxCnnExport.Child(transform, "dense"), "cls.predictions.transform.dense", hidden));
        t = LayerNorm(OnnxCnnExport.Child(transform, "LayerNorm"), "cls.predictions.transform.LayerNorm", t);
        var words = g.Weight("bert.embeddings.word_embeddings.weight", mlm.WordEmbeddingWeight);
        var decoder = g.Node("MatMul", "cls.predictions.decoder", [t, g.Node("Transpose", "cls.predictions.decoder", [words], Ints("perm", 1, 0))]);
        var bias = predictions.named_parameters(recurse: false).FirstOrDefault(p => p.name == "bias").parameter
                   ?? throw new OnnxExportException("cls.predictions has no bias.");
        return g.Node("Add", "cls.predictions.decoder", [decoder, g.Weight("cls.predictions.bias", bias)]);
    }

    /// <summary>A Linear on [batch, sequence, in]: MatMul with the transposed weight (kept [out, in] under its key) plus bias.</summary>
    string Linear(nn.Module module, string key, string x)
    {
        var l = (Linear)module;
        var wT = g.Node("Transpose", key, [g.Weight(key + ".weight", l.weight)], Ints("perm", 1, 0));
        var y = g.Node("MatMul", key, [x, wT]);
        return l.bias is null ? y : g.Node("Add", key, [y, g.Weight(key + ".bias", l.bias)]);
    }

    string LayerNorm(nn.Module module, string key, string x)
    {
        var n = (LayerNorm)module;
        return g.Node("LayerNormalization", key, [x, g.Weight(key + ".weight", n.weight), g.Weight(key + ".bias", n.bias)],
            Int("axis", -1), Float("epsilon", (float)n.eps));
    }

    /// <summary>The config's hidden_act: exact GELU 0.5·x·(1 + erf(x/√2)), its tanh approximation, or relu.</summary>
    string Activation(string hiddenAct, string key, string x)
    {
        switch (hiddenAct)
        {
            case "gelu":
            {
                var erf = g.Node("Erf", key + ".gelu", [g.Node("Div", key + ".gelu", [x, g.ConstFloat(MathF.Sqrt(2f))])]);
                var y = g.Node("Mul", key + ".gelu", [x, g.Node("Add", key + ".gelu", [erf, g.ConstFloat(1)])]);
                return g.Node("Mul", key + ".gelu", [y, g.ConstFloat(0.5f)]);
            }
            case "gelu_new" or "gelu_pytorch_tanh":
            {
                var cube = g.Node("Mul", key + ".gelu", [g.Node("Mul", key + ".gelu", [x, x]), x]);
                var inner = g.Node("Add", key + ".gelu", [x, g.Node("Mul", key + ".gelu", [cube, g.ConstFloat(0.044715f)])]);
                var tanh = g.Node("Tanh", key + ".gelu", [g.Node("Mul", key + ".gelu", [inner, g.ConstFloat((float)Math.Sqrt(2 / Math.PI))])]);
                var y = g.Node("Mul", key + ".gelu", [x, g.Node("Add", key + ".gelu", [tanh, g.ConstFloat(1)])]);
                return g.Node("Mul", key + ".gelu", [y, g.ConstFloat(0.5f)]);
            }
            case "relu":
                return g.Node("Relu", key, [x]);
            default:
                throw new OnnxExportException($"hidden_act '{hiddenAct}' has no ONNX form here (gelu, gelu_new, gelu_pytorch_tanh, relu).");
        }
    }
}
