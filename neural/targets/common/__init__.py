"""What the code-generation targets share: the logic that is the same whatever the framework.

- `codegen`: identifier checks, class and variable naming, the module constants, `generate_all`, `format_code`;
- `writer`: the values of a network's tensors in the generated code (expression, layout, rank), how a layer's
  inputs are laid out for its emitter, which variable each output gets;
- `emit`: the registry of emitters by layer kind, and `lit`;
- `support`: the registry of helper sources copied into generated modules;
- `load`: importing generated code in process;
- `training_code`: the train block as literals, and the text below the marker line of a template module;
- `runner`: the framework-free part of the training scripts (data, splits, early stopping ...), copied into
  every generated module ahead of the target's own runner.

Framework-specific code (layouts, emitters, the training loops) stays in each target's package.
"""
