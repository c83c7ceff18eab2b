"""One module per tutorial. Each defines `VARIANT`; its docstring's first line is its description."""
